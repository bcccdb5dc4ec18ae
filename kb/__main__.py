"""`python -m kb …` runs the `kb` command line (`python -m kb.cli` cannot: kb.cli_io imports kb.cli)."""

from kb.cli import app

app()
