"""The docs cannot rot: every ``python -m pyserini_xqg`` command line in README.md and docs/*.md parses.

A command shown in the docs must exist, use only options its parser knows (exact names, no abbreviations),
and give options with choices a valid literal value. Required options may be left out (docs show fragments),
and ``pyserini MODULE ARGS`` passes ARGS to Pyserini unchecked.
"""
import argparse
import difflib
import re
import shlex
from pathlib import Path

from pyserini_xqg import cli
from pyserini_xqg.__main__ import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
TOP = cli.parser(COMMANDS)
SUBCOMMANDS = next(a for a in TOP._actions if isinstance(a, argparse._SubParsersAction))
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"(`+)(.+?)\1", re.S)
OPERATORS = {";", "&&", "||", "|", "&", "<", ">", ">>", "(", ")"}  # end one simple command


def commands(markdown: str) -> list[tuple[int, list[str]]]:
    """``(line number, words after "python -m pyserini_xqg")`` for each such command in code blocks and spans."""
    snippets, prose, fenced, continued = [], [], False, False
    for n, line in enumerate(markdown.splitlines(), 1):
        line = line.rstrip()
        if FENCE.match(line):
            fenced, continued = not fenced, False
            prose.append("")
        elif fenced:
            if continued:  # the previous line ended with a backslash
                snippets[-1] = (snippets[-1][0], snippets[-1][1][:-1] + " " + line)
            else:
                snippets.append((n, line))
            continued = line.endswith("\\")
            prose.append("")
        else:
            prose.append(line)
    text = "\n".join(prose)
    snippets += [(text.count("\n", 0, m.start(2)) + 1, m.group(2).replace("\n", " "))
                 for m in INLINE.finditer(text)]
    found = []
    for n, snippet in sorted(snippets, key=lambda s: s[0]):
        if "pyserini_xqg" not in snippet:
            continue
        lexer = shlex.shlex(snippet, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError as err:
            raise ValueError(f"line {n}: {err}: {snippet}") from None
        simple: list[str] = []
        for token in tokens + [";"]:
            if token not in OPERATORS:
                simple.append(token)
                continue
            for i in range(len(simple) - 2):
                if simple[i].split("/")[-1].startswith("python") and simple[i + 1:i + 3] == ["-m", "pyserini_xqg"]:
                    found.append((n, [w.lstrip("[").rstrip("]") for w in simple[i + 3:]]))
                    break
            simple = []
    return found


def _placeholder(word: str) -> bool:
    return "$" in word or "..." in word or re.fullmatch(r"[A-Z][A-Z0-9_]*", word) is not None


def _option(word: str) -> bool:
    return re.match(r"--?[A-Za-z]", word) is not None


def problems(words: list[str]) -> list[str]:
    """What the parser would refuse in ``words``: an unknown command or option, a literal value not in choices."""
    if not words or _placeholder(words[0]):
        return []
    parser, name, rest = TOP, "python -m pyserini_xqg", words
    if not _option(words[0]):
        try:
            TOP._check_value(SUBCOMMANDS, words[0])
        except argparse.ArgumentError as err:
            return [str(err)]
        if words[0] == "pyserini":
            return []
        parser, name, rest = SUBCOMMANDS.choices[words[0]], words[0], words[1:]
    known = parser._option_string_actions
    found = []
    for i, word in enumerate(rest):
        if not _option(word):
            continue
        option, _, value = word.partition("=")
        if option not in known:
            close = difflib.get_close_matches(option, known, n=1)
            found.append(f"{name}: unknown option {option}" + (f" (did you mean {close[0]}?)" if close else ""))
            continue
        action = known[option]
        if action.choices is None:
            continue
        values = [value] if value else []
        if not values:
            for following in rest[i + 1:]:
                if _option(following) or (action.nargs in (None, "?") and values):
                    break
                values.append(following)
        for value in values:
            if _placeholder(value):
                continue
            try:
                parser._check_value(action, action.type(value) if action.type else value)
            except (argparse.ArgumentError, ValueError) as err:
                found.append(f"{name}: {err}")
    return found


def test_every_documented_command_parses():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked, errors = 0, []
    for path in files:
        try:
            found = commands(path.read_text(encoding="utf-8"))
        except ValueError as err:
            errors.append(f"{path.relative_to(ROOT)}: {err}")
            continue
        for line, words in found:
            checked += 1
            errors += [f"{path.relative_to(ROOT)}:{line}: {problem}\n    python -m pyserini_xqg {shlex.join(words)}"
                       for problem in problems(words)]
    assert checked >= 20, f"only {checked} commands found: is the extraction broken?"
    assert not errors, "\n".join(errors)


def test_the_checker_catches_a_misspelt_option_an_unknown_command_and_a_bad_choice():
    markdown = ("Run:\n\n```bash\nD=data\npython -m pyserini_xqg search --indx x \\\n"
                "    --topics ${D}/t.tsv --output o  # a comment --not-an-option\n```\n\n"
                "or `python -m pyserini_xqg serach --index x` and "
                "`python -m pyserini_xqg fuse --method rrf;python -m pyserini_xqg encode --agg median --a 0.1`.\n")
    found = commands(markdown)
    assert found == [(5, ["search", "--indx", "x", "--topics", "${D}/t.tsv", "--output", "o"]),
                     (9, ["serach", "--index", "x"]), (9, ["fuse", "--method", "rrf"]),
                     (9, ["encode", "--agg", "median", "--a", "0.1"])]
    reports = [problems(words) for _, words in found]
    assert reports[0] == ["search: unknown option --indx (did you mean --index?)"]
    assert "invalid choice: 'serach'" in reports[1][0]
    assert reports[2] == []
    assert len(reports[3]) == 1 and "argument --agg: invalid choice: 'median'" in reports[3][0]
