"""Applications over the library: the demo, reproduction matrices, and the bench against Pyserini."""
