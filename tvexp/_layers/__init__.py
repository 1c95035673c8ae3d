"""Layer implementations (private): one concept per module; public names live in the tier namespaces."""
