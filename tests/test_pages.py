"""Experiments pages made by the tool: generated blocks filled from the reports runs write, reading kept."""
import re
import shutil
from pathlib import Path

import pytest

from pyserini_xqg.__main__ import main
from pyserini_xqg.apps.pages import regenerate
from pyserini_xqg.io import provenance
from pyserini_xqg.io.files import DataError

from .conftest import write

ROOT = Path(__file__).resolve().parent.parent
RUN = {"command": "python -m pyserini_xqg study --seeds 0", "commit": "abc1234", "cpu": "Some CPU (native bf16), 2 cores",
       "dtype": "bf16", "started": "2026-12-04 10:00:00 UTC", "seconds": 3725}
REPORT = ("# Robustness study\n\n120 queries in 6 languages.\n\n## Findings\n\nxQG helps.\n\n"
          "![drop](study.x.drop-by-family.png)\n\n## Clean scores\n\n| system | nDCG@10 |\n|---|---:|\n| dense | 0.5 |\n\n"
          "### By genus\n\n| a | b |\n\n## Every attack\n\nlong tables\n")
BLOCK = "<!-- pyserini_xqg pages: runs/s/study.md{} -->\n{}<!-- pyserini_xqg pages: end -->\n"


def _page(tmp_path, sections="", body="stale text\n"):
    (tmp_path / "runs" / "s").mkdir(parents=True, exist_ok=True)
    write(tmp_path / "runs" / "s" / "study.md", provenance.header(RUN) + REPORT)
    return write(tmp_path / "page.md", "# AfriQA\n\nReading, by hand: see the table.\n\n"
                 + BLOCK.format(sections, body) + "\nMore reading.\n")


def test_a_block_takes_the_reports_record_and_chosen_sections_and_keeps_the_reading(tmp_path):
    page = _page(tmp_path, " | sections: Findings; Clean scores")
    text = regenerate(page, tmp_path)
    assert text.startswith("# AfriQA\n\nReading, by hand: see the table.\n\n<!-- pyserini_xqg pages: runs/s/study.md")
    assert text.endswith("<!-- pyserini_xqg pages: end -->\n\nMore reading.\n") and "stale text" not in text
    assert ("Run: `python -m pyserini_xqg study --seeds 0` · commit `abc1234` · Some CPU (native bf16), 2 cores · "
            "dtype bf16 · wall time 62 min 5 s · 2026-12-04 10:00:00 UTC") in text
    assert "### Findings" in text and "#### By genus" in text and "### Clean scores" in text  # one level down
    assert "120 queries in 6 languages." in text  # the report's preamble
    assert "Every attack" not in text and "![drop]" not in text and "# Robustness study" not in text
    # the command: in place, idempotent, and --check says whether a page is up to date
    assert main(["pages", str(page), "--root", str(tmp_path), "--check"]) == 1
    assert "stale text" in page.read_text()  # --check changes nothing
    assert main(["pages", str(page), "--root", str(tmp_path)]) == 0 and page.read_text() == text
    assert main(["pages", str(page), "--root", str(tmp_path), "--check"]) == 0


def test_a_missing_report_section_or_end_marker_is_a_clear_error(tmp_path, capsys):
    page = _page(tmp_path, " | sections: Findings; Noise")
    with pytest.raises(DataError, match=r"page.md:5: no section 'Noise'; the report has: 'Findings', 'Clean scores', "
                                        r"'Every attack'"):
        regenerate(page, tmp_path)
    (tmp_path / "runs" / "s" / "study.md").unlink()
    assert main(["pages", str(page), "--root", str(tmp_path)]) == 2
    assert re.search(r"error: .*page.md:5: .*runs/s/study.md: no such report", capsys.readouterr().err)
    write(page, "<!-- pyserini_xqg pages: runs/s/study.md -->\nno end\n")
    with pytest.raises(DataError, match="without its end marker"):
        regenerate(page, tmp_path)


def test_keep_copies_the_quoted_reports_with_their_json_and_points_the_blocks_at_them(tmp_path):
    page = _page(tmp_path, " | sections: Findings")
    write(tmp_path / "runs" / "s" / "study.json", '{"figures": 1}\n')
    example = "\n```\n<!-- pyserini_xqg pages: SOURCE.md -->\n<!-- pyserini_xqg pages: end -->\n```\n"
    write(page, page.read_text() + example)  # a block shown as an example in a code fence: left alone
    assert main(["pages", str(page), "--root", str(tmp_path), "--keep", "docs/reports"]) == 0
    text = page.read_text()
    assert "<!-- pyserini_xqg pages: docs/reports/s/study.md | sections: Findings -->" in text and example in text
    kept = tmp_path / "docs" / "reports" / "s"
    assert (kept / "study.md").read_text() == (tmp_path / "runs" / "s" / "study.md").read_text()
    assert (kept / "study.json").read_text() == '{"figures": 1}\n'
    shutil.rmtree(tmp_path / "runs")  # the run's folder gone, as in a fresh clone: the page still checks
    assert main(["pages", str(page), "--root", str(tmp_path), "--check"]) == 0
    assert main(["pages", str(page), "--root", str(tmp_path), "--keep", "docs/reports"]) == 0 and page.read_text() == text


def _without_run_lines(text: str) -> str:
    return re.sub(r"^Run: .*$", "Run: (this run)", text, flags=re.M)


def test_the_committed_sample_page_is_what_the_tool_makes_from_the_demo(demo_run, tmp_path):
    root, _ = demo_run
    committed = ROOT / "docs" / "experiments-sample.md"
    page = shutil.copy(committed, tmp_path / "experiments-sample.md")
    kept = re.search(r"<!-- pyserini_xqg pages: (\S+) -->", committed.read_text(encoding="utf-8"))[1]
    (root / kept).parent.mkdir(parents=True, exist_ok=True)  # the demo's report where the page keeps it
    shutil.copyfile(root / "runs" / "demo" / "report.md", root / kept)
    made = regenerate(Path(page), root)
    run = re.search(r"^Run: (.*)$", made, flags=re.M)[1]
    assert run.startswith("`PYSERINI_XQG_DTYPE=fp32 python -m pyserini_xqg demo` · commit `") and "dtype fp32" in run
    assert _without_run_lines(made) == _without_run_lines(committed.read_text(encoding="utf-8"))
