"""``python -m tvexp._tooling``: the same command line as ``tvexp-api``."""

import sys

from tvexp._tooling.cli import main

sys.exit(main())
