"""`python -m kb …` runs the `kb` command line."""

from kb.cli.main import app

app()
