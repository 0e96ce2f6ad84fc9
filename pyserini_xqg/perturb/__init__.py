"""Perturbation: the query attacks and the noise made from them, below ``index`` (noisy xQG), ``train``
(noise-aware fine-tuning) and ``robustness`` (the attacks' effect); it imports none of them."""
