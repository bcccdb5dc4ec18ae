"""The `kb` command line: thin commands over kb.api."""
