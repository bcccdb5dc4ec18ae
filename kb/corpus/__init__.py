"""Corpus metadata: the known cases and the manifest (read as untrusted data)."""
