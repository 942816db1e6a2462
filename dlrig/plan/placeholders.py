"""Placeholders that ``bin/dlrig init`` writes for what it cannot detect, and the preflight's refusal.

A placeholder is a text value that starts with ``FILL IN:`` followed by what to give, e.g.
``watts: "FILL IN: the PSU's rated output in W (on its label)"``. The preflight refuses a host that
still has one, on one line naming the host, the variable and what to fill in (docs/init.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dlrig.errors import InputError

MARK = "FILL IN:"
SECTIONS = ("hardware", "power", "os")


def make(what: str) -> str:
    """The placeholder text asking for ``what``."""
    return f"{MARK} {what}"


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.strip().upper().startswith(MARK)


def what(value: str) -> str:
    """What a placeholder asks for (the text after ``FILL IN:``)."""
    return value.strip()[len(MARK):].strip()


def find(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(variable path, placeholder text)`` for every placeholder under ``value``."""
    if is_placeholder(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from find(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from find(item, f"{path}[{i}]")


def refuse(host: str, hostvars: Mapping[str, Any]) -> None:
    """Raise InputError for the first placeholder left in the host's declaration (naming the others)."""
    found = [hit for section in SECTIONS for hit in find(hostvars.get(section), section)]
    if not found:
        return
    path, text = found[0]
    more = ""
    if len(found) > 1:
        more = f" ({len(found) - 1} more placeholder(s): {', '.join(p for p, _ in found[1:])})"
    raise InputError(host, path, f"placeholder left by `dlrig init`: fill in {what(text)}{more}")
