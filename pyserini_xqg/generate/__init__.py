"""Cross-lingual query generation: queries in each target language for every passage (the paper's mT5 recipe, any seq2seq model, or a file)."""
