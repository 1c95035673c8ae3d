"""Developer-only machinery behind the public API: tiers, deprecations, versions, the API surface.

Nothing here is part of the public surface; contributors import from these modules directly.
"""
