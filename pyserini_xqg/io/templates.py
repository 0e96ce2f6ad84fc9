"""Prompt templates: ``str.format`` text with named placeholders, checked before any model loads."""
from __future__ import annotations

import string


def check_template(template: str, placeholders: tuple[str, ...], what: str) -> None:
    """Refuse ``template`` (``what`` names it in the error: ``--prompt``) if it does not parse or has a
    placeholder other than ``placeholders``."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise ValueError(f"{what} {template!r}: {err}") from None
    if unknown := names - set(placeholders):
        raise ValueError(f"{what} has unknown placeholder(s) {', '.join(sorted(unknown))}: use "
                         f"{', '.join('{' + p + '}' for p in placeholders)}")
