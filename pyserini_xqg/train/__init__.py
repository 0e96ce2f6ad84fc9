"""Training: the xQG query generator and the dense retriever (standard multilingual fine-tuning, the comparison for xQG)."""
