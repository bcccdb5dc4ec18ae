"""Build stages that turn the report text into the corpus and the corpus into passages."""
