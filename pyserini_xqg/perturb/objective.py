"""The attacker's objective: what the adversarial and the worst-case paraphrase attacks lower."""
from __future__ import annotations


def objective(hits: list[tuple[str, float]], relevant: set[str], k: int) -> tuple[float, int | None]:
    """(margin, rank of the first relevant passage or None) of one query's ranked hits: the score of the best
    relevant passage minus that of the k-th best other one; what the adversarial and the worst-case
    paraphrase attacks lower (negative once no relevant passage is left in the top k)."""
    rank = next((r for r, (d, _) in enumerate(hits, 1) if d in relevant), None)
    best = hits[rank - 1][1] if rank else (hits[-1][1] if hits else 0.0)
    others = [s for d, s in hits if d not in relevant]
    kth = others[min(k, len(others)) - 1] if others else 0.0
    return best - kth, rank
