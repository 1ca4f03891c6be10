"""Writes of the payments app, one module per subject."""
