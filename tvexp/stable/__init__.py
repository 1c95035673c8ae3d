"""The stable tier: layers covered by tvexp's compatibility promise.

Names here change or disappear only after a deprecation that spans at least two minor releases.
Functional forms live in :mod:`tvexp.stable.functional`, losses in :mod:`tvexp.stable.losses`.
Importing this namespace never imports :mod:`tvexp.prototype` and never warns.
"""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._layers.drop_block import DropBlock2d, DropBlock3d

__all__: list[str] = [
    "DropBlock2d",
    "DropBlock3d",
]

__getattr__ = moved_name_getattr(__name__)
