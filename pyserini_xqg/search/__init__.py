"""Search: BM25 (Lucene), dense and xQG (FAISS), hybrids and fusion; ``open_index`` turns any index path into a searcher."""
