"""The prototype tier: new layers that may change in any release.

Importing this namespace does not warn. Each prototype class or function warns
:class:`tvexp.PrototypeWarning` once per process at its first use; :func:`opt_in` (or the
environment variable ``TVEXP_PROTOTYPE_OPT_IN=1``) acknowledges the tier and silences it.
Functional forms live in :mod:`tvexp.prototype.functional`, losses in :mod:`tvexp.prototype.losses`.
"""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._api.tiers import opt_in
from tvexp._layers.conv_norm_fusion import fuse_conv_norm
from tvexp._layers.layer_norm_2d import LayerNorm2d

__all__: list[str] = [
    "LayerNorm2d",
    "fuse_conv_norm",
]

__getattr__ = moved_name_getattr(__name__)
