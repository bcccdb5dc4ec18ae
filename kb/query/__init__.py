"""Reading the store: hybrid retrieval, filters, the factor × case matrix, case profiles, evaluation sets."""
