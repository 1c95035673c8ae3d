"""Eager-mode quantizable variants of the tvexp blocks (``fuse_model`` + observable skip additions)."""
