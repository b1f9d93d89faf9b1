"""Management commands of the governance app."""
