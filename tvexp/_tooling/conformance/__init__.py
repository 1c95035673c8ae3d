"""The conformance table: a few constructor configurations and inputs for every public layer and loss.

Developer-only (no tier). The test battery (``tests/conformance``), the API snapshot (state-dict
schemas of each layer's reference configuration) and ``tvexp-api promote`` (which refuses objects
that fail the battery) all read the same table from :mod:`tvexp._tooling.conformance.cases`.
"""

from tvexp._tooling.conformance.table import LayerCase, LossCase, seeded

__all__ = ["LayerCase", "LossCase", "seeded"]
