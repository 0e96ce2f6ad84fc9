"""The study's report: findings, positive control, dose-response, training seeds and every table, as markdown and
plots, from the analysis."""
from __future__ import annotations

from pathlib import Path

from ..eval.evaluation import Results
from ..eval.report import UP, DOWN, comparisons, curve, markdown as results_markdown
from ..eval.significance import BOOTSTRAP_RESAMPLES
from ..io.languages import LANGUAGES
from ..perturb import paraphrase
from . import pooling
from .adversarial import ADVERSARIAL
from .runner import changed_counts, markdown as robustness_markdown, success_markdown
from .analysis import KINDS, NOISE_AWARE, SEEN, UNSEEN, part, pooled_view
from .systems import DENSE, EFFECTS, TRAINED, TRANSLATE_TEST, Settings, Trained


def control_lines(control: dict) -> list[str]:
    """The positive control's verdict, as the findings state it."""
    effect = (f"{control['delta']:+.3f} {_ci(control['ci'])}, Holm p = {control['p_holm']:.3g}, on "
              f"{control['measure']}")
    if control["passed"]:
        return [f"- **Positive control passed** at {control['steps']} steps: noise-aware fine-tuning reduced the drop "
                f"under the noise it trained on ({effect}), so the defence can work at this budget."]
    return [f"- **Positive control failed** at {control['steps']} steps: noise-aware fine-tuning did not significantly "
            f"reduce the drop under the very noise it trained on ({effect}). The comparison of the defences at this "
            "budget is therefore **inconclusive**: a null effect under unseen attacks says nothing about whether "
            "they work."]


def findings(analysis: dict, agreement: dict, lead: str, control: dict | None) -> list[str]:
    """The findings of one budget, on the ``lead`` measure by family: random noise, the positive control, then each
    other kind of attack."""
    lines = []
    if lead in analysis:
        lines += [f"On {lead}, by family (drop = clean - attacked, averaged over the random attacks that changed "
                  "the query):\n", *answer(analysis, lead, agreement=agreement.get(KINDS[0], {}).get(lead)), ""]
    if control:
        lines += [*control_lines(control), ""]
    for kind in (ADVERSARIAL, *KINDS[2:], SEEN, UNSEEN):
        if kind in analysis:
            where = "the adversarial attack (worst case)" if kind == ADVERSARIAL else \
                f"{'the ' * (kind in KINDS)}{kind} (a section of its own below)"
            lines += [f"Under {where}, on {lead}, by family:\n",
                      *answer(analysis[kind], lead, agreement=agreement.get(kind, {}).get(lead)), ""]
    return lines


DOSE_EFFECTS = ("fine-tuning (fine-tuned - dense)", NOISE_AWARE,
                "self-teaching vs standard fine-tuning (noise-aware+self-teaching - fine-tuned)")
"""The effects the dose-response section follows over budgets: each trained defence against standard fine-tuning."""


def _noise_kinds(analysis: dict) -> tuple[str, ...]:
    """The kinds of random noise the budgets are compared on: seen and unseen with the defences, else random."""
    return tuple(k for k in (SEEN, UNSEEN) if k in analysis) or (KINDS[0],)


def dose_markdown(budgets: dict, measure: str, plot: str) -> list[str]:
    """Per budget, each trained system's clean score (mean ± sd over seeds) and pooled mean drop under each kind
    of random noise, then the defences' effects at the same budget."""
    first = next(iter(budgets.values()))
    kinds = _noise_kinds(first["analysis"])
    lines = ["\n## Dose-response\n", f"Each budget (train-encoder steps) trained and tested apart; {measure}, all "
             "queries. Clean: mean ± sd over the training seeds; drops and effects: pooled over the seeds, with the "
             "95% bootstrap interval.\n",
             "| steps | system | clean | " + " | ".join(f"drop under {k}" for k in kinds) + " |",
             "|---:|---|---:|" + "---:|" * len(kinds)]
    for steps, budget in budgets.items():
        drops = [part(budget["analysis"], k).get(measure, {}).get("family") for k in kinds]
        for role, clean in budget["clean"].items():
            if not all(d and role in d["drop"] for d in drops):
                continue
            lines.append(f"| {steps} | {role} | {pooling.mean_sd_text(clean[measure])} | "
                         + " | ".join(f"{d['drop'][role]['all']:.3f} {_ci(d['drop_ci'][role]['all'])}" for d in drops)
                         + " |")
    lines += ["", "| steps | effect on the drop | " + " | ".join(kinds) + " |", "|---:|---|" + "---:|" * len(kinds)]
    for steps, budget in budgets.items():
        for effect in DOSE_EFFECTS:
            cells = [part(budget["analysis"], k).get(measure, {}).get("family", {}).get("effects", {}).get(effect, {})
                     .get("all") for k in kinds]
            if not all(cells):
                continue
            held = [budget["agreement"][k][measure][effect]["all"] for k in kinds]
            lines.append(f"| {steps} | {effect} | " + " | ".join(
                f"{c['delta']:+.3f}{_drop_mark(c)} {_ci(c['ci'])}" + (f", {h['agree']}/{h['seeds']} seeds"
                                                                      if h["seeds"] > 1 else "")
                for c, h in zip(cells, held)) + " |")
    return lines + ["", f"![{measure} drop against the training budget]({plot})"]


def dose_plot(budgets: dict, measure: str, path: Path) -> None:
    """The trained systems' pooled mean drop against the budget, one line per system and kind of noise, with the
    95% bootstrap intervals."""
    points, errors = {}, {}
    for steps, budget in budgets.items():
        for kind in _noise_kinds(budget["analysis"]):
            table = part(budget["analysis"], kind).get(measure, {}).get("family", {"drop": {}})
            for role in (r for r in TRAINED if r in table["drop"]):
                points.setdefault(f"{role}, {kind}", []).append((steps, table["drop"][role]["all"]))
                errors.setdefault(f"{role}, {kind}", []).append(table["drop_ci"][role]["all"])
    curve(points, f"mean {measure} drop", path, xlabel="train-encoder steps", errors=errors)


def control_markdown(budgets: dict) -> list[str]:
    """The positive control at each budget, with its agreement over the seeds."""
    lines = ["\n## Positive control\n", "Did noise-aware fine-tuning significantly reduce the drop under the very noise "
             "it trained on (the seen attacks, all queries, pooled over the seeds)? Where it did not, the comparison of "
             "the defences at that budget is inconclusive.\n"]
    for budget in budgets.values():
        control = budget["positive_control"]
        seeds = control["seeds"]
        lines += control_lines(control)
        if seeds["seeds"] > 1:
            lines[-1] += (f" In single seeds: significant with this sign in {seeds['agree']} of {seeds['seeds']} "
                          f"(effects {', '.join(f'{d:+.3f}' for d in seeds['deltas'])}).")
    return lines


def seeds_markdown(budgets: dict, report: dict, settings: Settings, measure: str) -> list[str]:
    """Each training seed apart: the trained systems' clean scores, and the effects of a trained system over all
    queries, per seed beside the pooled effect."""
    seeds = settings.train_seeds
    lines = ["\n## Training seeds\n", f"Each fine-tuned system trained once per seed ({', '.join(map(str, seeds))}); "
             f"pooled: each query's drop averaged over the seeds, then the paired t-test over queries (Holm). Agree: "
             f"seeds whose own test finds the pooled sign significant. {measure}, all queries.\n",
             "| steps | system | " + " | ".join(f"clean, seed {s}" for s in seeds) + " | mean ± sd |",
             "|---:|---|" + "---:|" * (len(seeds) + 1)]
    for steps, budget in budgets.items():
        lines += [f"| {steps} | {role} | " + " | ".join(f"{v:.3f}" for v in c[measure]["values"])
                  + f" | {pooling.mean_sd_text(c[measure])} |" for role, c in budget["clean"].items()]
    trained = [e for e, pair in EFFECTS.items() if set(pair) & set(TRAINED)]
    lines += ["", "| steps | noise | effect on the drop | " + " | ".join(f"seed {s}" for s in seeds)
              + " | pooled | agree |", "|---:|---|---|" + "---:|" * (len(seeds) + 2)]
    for steps, budget in budgets.items():
        for kind in _noise_kinds(budget["analysis"]):
            effects = part(budget["analysis"], kind).get(measure, {}).get("family", {}).get("effects", {})
            for effect in (e for e in trained if e in effects):
                held, cell = budget["agreement"][kind][measure][effect]["all"], effects[effect]["all"]
                lines.append(f"| {steps} | {kind} | {effect} | " + " | ".join(f"{d:+.3f}" for d in held["deltas"])
                             + f" | {cell['delta']:+.3f}{_drop_mark(cell)} | {held['agree']}/{held['seeds']} |")
    return lines


def _ci(ci: list[float]) -> str:
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _drop_mark(cell: dict | None) -> str:
    """▲: the drop is significantly smaller (more robust); ▼: significantly larger."""
    if not cell or not cell["significant"]:
        return ""
    return UP if cell["delta"] < 0 else DOWN


def answer(analysis: dict, measure: str, grouping: str = "family", agreement: dict | None = None) -> list[str]:
    """The findings, stated from the effects table: which differences are significant, where; with ``agreement``
    (``pooling.agreement`` of several seeds), in how many seeds the effect over all queries held."""
    lines = []
    for effect, cells in analysis[measure][grouping]["effects"].items():
        groups = [g for g in cells if g != "all"]
        smaller = [g for g in groups if cells[g]["significant"] and cells[g]["delta"] < 0]
        larger = [g for g in groups if cells[g]["significant"] and cells[g]["delta"] > 0]
        total = cells["all"]
        sig = "significant" if total["significant"] else "not significant"
        held = (agreement or {}).get(effect, {}).get("all", {"seeds": 1})
        seeds = (f" Same sign and significant in {held['agree']} of {held['seeds']} seeds." if held["seeds"] > 1
                 else "")
        lines.append(f"- **{effect}**: mean drop changes by {total['delta']:+.3f} {_ci(total['ci'])} over all queries "
                     f"({sig}, Holm p = {total['p_holm']:.3g}); significantly smaller in "
                     f"{', '.join(smaller) or 'no family'}, larger in {', '.join(larger) or 'no family'} "
                     f"(of {len(groups)}).{seeds}")
    return lines


def _drop_tables(part: dict, measure: str, grouping: str, heading: str) -> list[str]:
    """One analysis cell (``analyse``) as markdown: the mean drop per system, then the effects, by ``grouping``."""
    table, eff = part[measure][grouping]["drop"], part[measure][grouping]["effects"]
    groups = list(table[DENSE])
    lines = [f"\n{heading} by {grouping.replace('_', ' ')}\n",
             "| system | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += [f"| {s} | " + " | ".join(f"{table[s][g]:.3f}" for g in groups) + " |" for s in table]
    lines += ["", "| effect on the drop | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += [f"| {e} | " + " | ".join(f"{c[g]['delta']:+.3f}{_drop_mark(c.get(g))} {_ci(c[g]['ci'])}" for g in groups)
              + " |" for e, c in eff.items()]
    return lines


def markdown(report: dict, budgets: dict, meta: dict, settings: Settings) -> str:
    """The study's report. ``report``: the robustness report as run (every training run's systems apart);
    ``budgets``: ``analyse_budgets``. Findings per budget; the tables below at the largest budget, pooled over
    the seeds."""
    headline = max(budgets)
    analysis, shown = budgets[headline]["analysis"], pooled_view(report, settings, [Trained(headline, s)
                                                                             for s in settings.train_seeds])
    clean = Results(shown["clean"]["languages"], shown["clean"]["per_query"])
    cells = comparisons(clean, report["measures"], DENSE)
    lead = report["measures"][0]
    pivot = LANGUAGES[meta["language"]].name  # the passages' language
    seeds = settings.train_seeds
    pooled = (f" The fine-tuned systems' scores and drops are averaged per query over the {len(seeds)} training "
              "seeds (pooled) before every test." if len(seeds) > 1 else "")
    lines = ["# Robustness study: xQG against multilingual fine-tuning\n",
             f"{meta['queries']} queries in {len(meta['languages'])} languages ({', '.join(meta['languages'])}), "
             f"{pivot} passages; "
             f"encoder {meta['model']}, fine-tuned for {' and '.join(map(str, budgets))} steps on {meta['train']}, "
             f"training seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}; xQG a = {meta['a']}, "
             f"agg {meta['agg']}, queries from {meta['generator']}. Attacks at rate {report['rate']}, seeds "
             f"{report['seeds']}: {', '.join(report['per_query_drop'])}. {meta['seconds']:.0f} s.{pooled}"
             + (f" Tables after the findings: {headline} steps." if len(budgets) > 1 else "") + "\n", "## Findings\n"]
    for steps, budget in budgets.items():
        if len(budgets) > 1:
            lines.append(f"### At {steps} steps\n")
        lines += findings(budget["analysis"], budget["agreement"], lead, budget["positive_control"])
    if any(b["positive_control"] for b in budgets.values()):
        lines += control_markdown(budgets)
    lines += dose_markdown(budgets, lead, dose_plot_name(meta["report"], lead))
    if len(seeds) > 1:
        lines += seeds_markdown(budgets, report, settings, lead)
    for m in report["measures"]:
        if m not in analysis:
            continue
        for grouping in ("family", "genus", "resource_class"):
            lines += _drop_tables(analysis, m, grouping, f"## Mean {m} drop")
        lines.append(f"\n![{m} drop by family]({drop_plot_name(meta['report'], m)})\n")
    lines += [f"\n{UP}/{DOWN} in effects: the drop is significantly smaller/larger (paired t-test over queries, "
              f"Holm over every cell of the table, alpha = {meta['alpha']}); [lo, hi]: the effect's 95% bootstrap "
              f"interval over queries ({BOOTSTRAP_RESAMPLES:,} resamples, seeded per cell, not corrected for "
              "multiple comparisons).\n",
              "\n## Clean scores\n", f"{UP}/{DOWN}: significantly better/worse than dense (paired t-test, Holm). "
              f"{TRANSLATE_TEST}: BM25 on the human {pivot} translations of the queries, a reference that no "
              "attack reaches.\n"]
    lines += [results_markdown(clean, m, cells[m]) for m in report["measures"]]
    if ADVERSARIAL in analysis:
        lines += adversarial_markdown(report, analysis, meta)
    if any(kind in analysis for kind in KINDS[2:]):
        lines += paraphrase_markdown(report, analysis)
    if SEEN in analysis or UNSEEN in analysis:
        lines += ["\n## Seen and unseen noise\n", f"The defences were trained, or their xQG queries copied, with "
                  f"noise from {', '.join(meta['noise'])} (the seen attacks); every other attack, the adversarial and "
                  "the paraphrase attacks included, they never saw.\n"]
        for kind in (SEEN, UNSEEN):
            for m in (m for m in report["measures"] if kind in analysis and m in analysis[kind]):
                lines += _drop_tables(analysis[kind], m, "family", f"### Mean {m} drop under {kind}")
    if "coverage" in meta:
        lines += coverage_markdown(meta["coverage"])
    lines += ["\n## Every attack\n", "Every system as it ran: the fine-tuned ones once per budget and seed.\n",
              robustness_markdown(report, "family")]
    if "time" in meta:
        lines += time_markdown(meta["time"])
    return "\n".join(lines)


def coverage_markdown(coverage: dict) -> list[str]:
    """How many passages have generated queries, per language (the xQG index's ``coverage``): the others keep
    their plain vectors, so xQG can only move the passages it covers."""
    rows = [f"| {LANGUAGES[lang].name} ({lang}) | {n:,} | {n / coverage['of']:.1%} |"
            for lang, n in coverage["languages"].items()]
    return ["\n## xQG coverage\n", f"Passages with at least one generated query, of {coverage['of']:,}.\n",
            "| language | passages | share |", "|---|---:|---:|", *rows,
            f"| **any language** | **{coverage['passages']:,}** | **{coverage['fraction']:.1%}** |"]


def time_markdown(spent: dict) -> list[str]:
    """Where the time goes: each step as long as it took when it was made (a rerun reuses it at no cost),
    and each attack's cells (making the attacked topics; each system's searches and scoring)."""
    dtypes = spent.get("dtypes", {})  # a training step's dtype, where its training.json records one
    rows = []
    for step, seconds in spent["steps"].items():
        encoder = step.removeprefix("train ")
        shown = f"{step} ({dtypes[encoder]})" if step.startswith("train ") and encoder in dtypes else step
        rows.append(f"| {shown} | {seconds:,.0f} |")
    for attack, parts in spent["attacks"].items():
        systems = {k: v for k, v in parts.items() if k != "topics"}
        rows.append(f"| attack {attack}: attacked topics | {parts.get('topics', 0):,.0f} |")
        if systems:  # none where the attack applied to no language
            rows.append(f"| attack {attack}: search and score, {len(systems)} systems ("
                        + ", ".join(f"{k} {v:,.0f}" for k, v in systems.items()) + f") | {sum(systems.values()):,.0f} |")
    made = sum(spent["steps"].values()) + sum(v for parts in spent["attacks"].values() for v in parts.values())
    return ["\n## Where the time goes\n", "Seconds each step took when it was made (a rerun reuses it); this run took "
            f"{spent['this_run']:,.0f} s, of which {spent['attacking']:,.0f} s in the attack phase.\n",
            "| step | seconds |", "|---|---:|", *rows, f"| **all steps** | **{made:,.0f}** |"]


def adversarial_markdown(report: dict, analysis: dict, meta: dict) -> list[str]:
    """The worst case: success rate and drop by family, genus and class per system, effects, budget curve."""
    entry = report["attacks"][ADVERSARIAL][ADVERSARIAL]
    how = (f"queries found against {entry['transfer_from']} and replayed on every system (transfer)"
           if entry["transfer_from"] else "each system attacked with its own scores (white-box)")
    lines = ["\n## Adversarial attack (worst case)\n",
             f"Budget {meta['adversarial']['budget']} edits, {entry['queries']} queries, seed {entry['seeds'][0]}, "
             f"{how}. Success: the first relevant passage leaves the top 10 (of the queries that had one there); "
             "rank: the first relevant passage's mean rank before → after. Candidate encodings per query: " +
             ", ".join(f"{s} {n:.0f}" for s, n in entry["candidate_encodings_per_query"].items()) + ".\n"]
    for grouping in ("family", "genus", "resource_class"):
        lines += success_markdown(entry, grouping, "###")
    for m in report["measures"]:
        for grouping in ("family", "genus", "resource_class"):
            lines += _drop_tables(analysis[ADVERSARIAL], m, grouping, f"### Mean {m} drop under the adversarial attack")
    if entry["budget_curve"]:
        lines.append(f"\n![success rate against the budget]({meta['report']}.adversarial-budget.png)\n")
    return lines


def paraphrase_markdown(report: dict, analysis: dict) -> list[str]:
    """The paraphrase attacks: how many queries each changed, then the drop and the effects, average and worst case."""
    attacks = [a for a in report["per_query_drop"] if paraphrase.is_model_attack(a)]
    lines = ["\n## Paraphrase attacks\n", "Candidates that pass the meaning filter; the average case draws one with "
             "the seed, the worst case takes the one that most lowers each system's objective (white-box). A query "
             "none of whose candidates passed stays unchanged and is left out of the drops.\n"]
    lines += [f"- {a}: queries changed {changed_counts(report['changed'][a])}" for a in attacks]
    for kind in KINDS[2:]:
        if kind in analysis:
            for m in report["measures"]:
                for grouping in ("family", "genus", "resource_class"):
                    lines += _drop_tables(analysis[kind], m, grouping, f"### Mean {m} drop under the {kind}")
    return lines


def drop_plot_name(stem: str, measure: str) -> str:
    return f"{stem}.drop-by-family.{measure.replace('@', '_at_')}.png"


def dose_plot_name(stem: str, measure: str) -> str:
    return f"{stem}.dose-response.{measure.replace('@', '_at_')}.png"
