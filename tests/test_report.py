"""Report writers: marks for significant cells, every format, pictures."""
import csv
import json

from pyserini_xqg.eval.evaluation import Results
from pyserini_xqg.eval.report import bar_chart, curve, latex, markdown, write_all


def results():
    r = Results({f"a{i}": "sw" for i in range(20)} | {f"b{i}": "yo" for i in range(20)})
    base = {q: 0.5 for q in r.languages}
    r.per_query = {"dense": {"nDCG@10": base},
                   "xqg": {"nDCG@10": {q: (0.9 if q[0] == "a" else 0.5 + (0.01 if q[1] in "13" else -0.01))
                                       for q in base}}}
    return r


def test_markdown_and_latex_mark_significant_cells(tmp_path):
    r = results()
    cells = write_all(r, ["nDCG@10"], tmp_path, baseline="dense")["nDCG@10"]
    assert cells[("xqg", "sw")].significant and not cells[("xqg", "yo")].significant
    md = markdown(r, "nDCG@10", cells)
    assert "| xqg | 0.900▲ | 0.502 | 0.701 |" in md
    tex = latex(r, "nDCG@10", cells)
    assert r"\toprule" in tex and r"0.900$^\blacktriangle$" in tex and r"\bottomrule" in tex
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    sw = next(x for x in rows if x["system"] == "xqg" and x["language"] == "sw")
    assert sw["significant"] == "1" and float(sw["delta"]) == 0.4
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["significance"]["correction"] == "holm"
    assert len((tmp_path / "per-query.tsv").read_text().splitlines()) == 1 + 2 * 40


def test_pictures_are_pngs(tmp_path):
    r = results()
    for path in (bar_chart(r, "nDCG@10", tmp_path / "bars.png"),
                 curve({"xqg": [(0.0, 0.5), (0.3, 0.7)]}, "nDCG@10", tmp_path / "curve.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
