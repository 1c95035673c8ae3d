"""Developer tooling over tvexp's public API: surface, snapshots, diff, audit, source edits, the
conformance table and its runner, and the ``tvexp-api`` command line.

Layering (checked by ``tests/tools/test_import_graph.py``): the runtime (``tvexp._api``, layers,
losses, transforms, the tier namespaces) never imports anything here; within the tooling,
``cli`` is the leaf that imports the rest and nothing imports it.
"""
