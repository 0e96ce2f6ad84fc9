"""Evaluation: XOR-TyDi's R@kt, trec_eval measures, per-language tables, paired tests with Holm correction, reports."""
