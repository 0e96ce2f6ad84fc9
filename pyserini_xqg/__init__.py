"""pyserini_xqg: cross-lingual dense retrieval with query generation (xQG) on Pyserini.

One subpackage per pipeline stage: ``io`` (collections, runs, records), ``encode``,
``generate``, ``index``, ``search``, ``eval``, ``train``, ``robustness``, ``engines``
and ``apps``. Importing the package starts nothing: the JVM that Pyserini needs is
started the first time Lucene, Anserini or Pyserini's encoders are used (``jvm``).
"""

__version__ = "0.1.0"
