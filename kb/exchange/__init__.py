"""Material in and out: exports, REFI-QDA, codebook import, transcript import and the hostile-file guards."""
