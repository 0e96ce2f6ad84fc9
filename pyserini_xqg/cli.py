"""What every command line shares: the command type, the parser, error handling, options from dataclasses.

Each stage's ``cli.py`` defines its commands as ``add_arguments(parser)`` and ``main(args)``;
``__main__`` lists them. Options whose values the library already fixes (choices, dataclass
defaults) are read from the library, never written twice.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import stat
import sys
import warnings
from typing import Callable, Mapping, Sequence

from .io.files import DataError, check_output
from .io.folder import CollectionFolder, read_collection
from .jvm import JavaError


@dataclasses.dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int | None]
    outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # option -> files.OUTPUT_KINDS


class _OneLineCommands(argparse.HelpFormatter):
    """Help that keeps each command and its description on one line."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=30, width=130)

    def add_argument(self, action):
        super().add_argument(action)
        for sub in getattr(action, "_choices_actions", []):  # argparse forgets sub-commands when aligning
            self._action_max_length = max(self._action_max_length, len(sub.dest) + self._current_indent + 6)


def parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m pyserini_xqg", description="pyserini_xqg: cross-lingual dense retrieval with xQG on Pyserini",
        formatter_class=_OneLineCommands)
    sub = top.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, command in commands.items():
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    return top


def main(commands: Mapping[str, Command], argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command, and turn bad input into one ``error:`` line and exit status 2.

    ``args.command_line`` runs another command line in this process (reproductions use it).
    """
    args = parser(commands).parse_args(argv)
    args.command_line = lambda words: main(commands, words)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what the run's record quotes
    command = commands[args.command]
    warnings.formatwarning = _one_line
    try:
        check_seekable(args)
        for option, kind in command.outputs.items():  # before any work
            if getattr(args, option, None):
                check_output(getattr(args, option), kind)
        return command.main(args) or 0
    except KeyboardInterrupt:  # Ctrl-C: outputs are atomic or journalled, so a rerun resumes
        print(f"interrupted: {args.command} stopped; what it finished is kept, and the same command resumes",
              file=sys.stderr)
        return 130
    except (DataError, ValueError, JavaError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder the checks above did not foresee
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


def _one_line(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line shows it: ``warning: MESSAGE``."""
    return f"warning: {message}\n"


def check_seekable(args: argparse.Namespace) -> None:
    """Refuse, before any work, an option that names a pipe (``--corpus <(zcat c.jsonl.gz)``): inputs are read
    more than once (counted, then streamed), which a pipe cannot give."""
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            path = item.rpartition("=")[2].removeprefix("file:")  # PATH, LANG=PATH, NAME=PATH or file:PATH
            try:
                mode = os.stat(path).st_mode
            except (OSError, ValueError):
                continue
            if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
                raise DataError(path, None, f"--{dest.replace('_', '-')} is a pipe, not a file: it is read more than "
                                "once, so it must be a seekable file (save it first, e.g. zcat c.jsonl.gz > c.jsonl)")


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _optional_type(field: dataclasses.Field):
    """The value type of an ``X | None`` field (annotations are strings here): int, float or str."""
    annotation = str(field.type).split("|")[0].strip()
    return {"int": int, "float": float}.get(annotation, str)


def add_dataclass_arguments(p: argparse.ArgumentParser, cls, names: Sequence[str], help: Mapping[str, str] = {},
                            choices: Mapping[str, Sequence] = {}, prefix: str = "") -> None:
    """``--field-name`` options for the named fields of dataclass ``cls``, with its defaults and value types.

    A field without a default becomes a required option; a list or tuple default takes one or more values.
    ``prefix`` (``"translate-"``) goes before each option name and, as ``translate_``, its destination.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in names:
        default = _default(fields[name])
        kwargs: dict = {"dest": prefix.replace("-", "_") + name, "help": help.get(name)}
        if name in choices:
            kwargs["choices"] = choices[name]
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        elif isinstance(default, bool):
            kwargs.update(action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, (list, tuple)):
            kwargs.update(nargs="+", default=default, type=type(default[0]) if default else str)
        else:
            kwargs.update(default=default, type=type(default) if default is not None else _optional_type(fields[name]))
        if default is not dataclasses.MISSING and default is not None:
            kwargs["help"] = f"{kwargs['help']} (default {default})" if kwargs["help"] else f"default {default}"
        p.add_argument("--" + prefix + name.replace("_", "-"), **kwargs)


def from_args(cls, args: argparse.Namespace, **values):
    """An instance of dataclass ``cls`` from the options ``add_dataclass_arguments`` added, plus ``values``."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**given, **values})


def pairs(specs: Sequence[str], what: str = "NAME=VALUE") -> dict[str, str]:
    """``["a=x", "b=y"]`` -> ``{"a": "x", "b": "y"}``; anything else is a clear error."""
    out = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise DataError("<argument>", None, f"expected {what}, not {spec!r}")
        out[name] = value
    return out


ANSWERS_HELP = ("answers JSONL ({qid, lang, answers}): one file, or LANG=PATH per language (the language of "
                "records without lang)")
COLLECTION_HELP = ("a collection folder: corpus.jsonl, queries.LANG.tsv, queries.LANG-PIVOT.tsv (translations into "
                   "the passages' language), qrels.txt, answers.jsonl (or answers.LANG.jsonl, "
                   "answers.LANG-PIVOT.jsonl), train.jsonl, reference-queries.train.jsonl; an optional collection.json "
                   "renames them and gives the passages' language (see pyserini_xqg.io.folder)")


def add_collection_argument(p: argparse.ArgumentParser, gives: str) -> None:
    """``--collection DIR``: ``gives`` says which options the folder fills."""
    p.add_argument("--collection", metavar="DIR", help=f"{COLLECTION_HELP}. It gives {gives}; an option given as "
                   "well wins")


_FIELDS = {"generator": "reference_queries"}  # option -> CollectionFolder field, where the names differ
_MANY = ("topics", "topics_pivot", "answers")  # options that take one or more values: a list, as typed


def from_collection(args: argparse.Namespace, required: Sequence[str] = (),
                    optional: Sequence[str] = ()) -> CollectionFolder | None:
    """Fill each option (by its dest) that the command line left empty from ``--collection DIR``, in the words
    the command line would have held: a path, ``LANG=PATH`` for topics (``topics_pivot``: those of the topics'
    languages), ``file:PATH`` for the generator. A required option that neither gives is an error that names
    the folder and what it holds. With ``--languages`` (and no ``--topics``), only those languages' topics."""
    folder = read_collection(args.collection) if getattr(args, "collection", None) else None
    if folder is not None and getattr(args, "languages", None) and not args.topics:
        folder, args.languages = folder.select(args.languages), None
    for dest in (*required, *optional):
        if getattr(args, dest) not in (None, []):
            continue
        option = "--" + dest.replace("_", "-")
        if folder is None:
            if dest in required:
                raise ValueError(f"{option} is required (or --collection DIR)")
            continue
        name = _FIELDS.get(dest, dest)
        if dest == "topics_pivot":  # the translations of the topics in use
            value = folder.pivot_for(pairs(args.topics or [], "LANG=PATH"))
        else:
            value = folder.need(name, option) if dest in required else getattr(folder, name)
        if isinstance(value, dict):
            value = [f"{lang}={path}" for lang, path in value.items()]
        elif dest in _MANY and isinstance(value, str):
            value = [value]
        setattr(args, dest, f"file:{value}" if dest == "generator" and value else value)
    return folder
