"""Indexes: Lucene BM25 (Anserini), dense FAISS in Pyserini's layout, and xQG-augmented FAISS."""
