"""Sphinx configuration for the tvexp site.

The build is offline (no intersphinx, no remote images) and runs with ``-W --keep-going``. Tier
badges, ``since`` versions, deprecations and the API-change tables come from the code through the
local extension in ``_ext/tvexp_docs.py``; nothing about tiers is typed by hand in these pages.
"""

from __future__ import annotations

import doctest
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

# Autodoc imports and the doctest builder build prototype layers: the site acknowledges the tier once
# for the whole build instead of printing PrototypeWarning for every object (the guide page on
# prototypes shows the warning explicitly).
os.environ.setdefault("TVEXP_PROTOTYPE_OPT_IN", "1")

import tvexp  # noqa: E402

project = "tvexp"
author = "the tvexp contributors"
copyright = "tvexp contributors, BSD-3-Clause"
release = tvexp.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "tvexp_docs",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["tvexp.css"]
html_theme = "alabaster"
html_title = f"tvexp {release}"
html_theme_options = {
    "description": "Reusable computer-vision layers for PyTorch, in stability tiers",
    "fixed_sidebar": True,
    "page_width": "1240px",
    "sidebar_width": "230px",
    "show_powered_by": False,
    "extra_nav_links": {},
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_show_sourcelink = False
# Math as HTML text (see _ext/tvexp_docs.py): no MathJax from a CDN, the site reads offline.
html_math_renderer = "tvexp_text"

# Tier and version notes come from the markers; autodoc must not add its own typing noise.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = False
autodoc_preserve_defaults = True
add_module_names = True
python_use_unqualified_type_names = True
# Long signatures (a conv block has a dozen parameters) go one parameter per line.
python_maximum_signature_line_length = 90

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shape"]
napoleon_use_rtype = False

# Examples in the guide pages run under ``sphinx-build -b doctest`` (``make docs``); docstring
# examples run under ``pytest --doctest-modules`` and are not repeated by the doctest builder.
doctest_global_setup = f"""
REPO_ROOT = {str(DOCS.parent)!r}
import os
os.environ.setdefault("TVEXP_PROTOTYPE_OPT_IN", "1")
import torch
torch.manual_seed(0)
torch.set_num_threads(2)
"""
doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
