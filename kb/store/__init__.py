"""The built store: generations, build lock, fault checkpoints, Chroma, BM25 and the KnowledgeBase reader."""
