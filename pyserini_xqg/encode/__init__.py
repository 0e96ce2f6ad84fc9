"""Encoders: the built-in multilingual-e5-small, any transformers encoder, Pyserini-shaped classes."""
