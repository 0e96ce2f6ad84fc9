"""A built wheel carries the package data, and the package reads it from wherever it is installed."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_resources_and_reads_them_outside_the_checkout(tmp_path):
    src = tmp_path / "src"  # a clean copy: an in-tree build/ could carry stale modules into the wheel
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info",
                                                            "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("pyserini_xqg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p.relative_to(ROOT).as_posix() for p in (ROOT / "pyserini_xqg" / "resources").rglob("*") if p.is_file()]
    assert len(data) > 60 and not [p for p in data if p not in names], "package data missing from the wheel"
    assert "pyserini_xqg/index/xqg.py" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs by unpacking
    code = ("import json, pyserini_xqg\n"
            "from pyserini_xqg.io.collection import load_corpus\n"
            "from pyserini_xqg.io.languages import LANGUAGES\n"
            "from pyserini_xqg.io.sample import Sample\n"
            "from pyserini_xqg.apps.reproduce import load_matrix\n"
            "print(json.dumps([pyserini_xqg.__file__, len(load_corpus(Sample().corpus)), Sample().languages,"
            " LANGUAGES['sw'].name, load_matrix('sample')['name']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    where, passages, languages, swahili, matrix = json.loads(out.stdout)
    assert Path(where).is_relative_to(site) and passages == 100 and len(languages) == 12
    assert swahili == "Swahili" and matrix == "sample"
