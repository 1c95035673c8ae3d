"""tvexp: reusable computer-vision layers for PyTorch, organised in stability tiers.

Users import a tier namespace::

    import tvexp.stable as tvs      # covered by the compatibility promise
    import tvexp.prototype as tvp   # new layers; may change in any release

This top-level module holds only the tier machinery that is shared by every tier
(the warning classes and the version); it imports neither tier and not torch.
"""

from tvexp._api.warnings import PrototypeWarning, TvexpDeprecationWarning

__version__ = "0.2.0.dev0"

__all__ = [
    "PrototypeWarning",
    "TvexpDeprecationWarning",
    "__version__",
]
