"""Every file the docs run directly (``scripts/x.py ...``, ``bin/dlrig ...``) is executable and starts
with a ``#!`` line (issue 19, finding 7: the docs ran scripts that had mode 644). The docs are read at
test time: a command added to them later is checked too."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from doccommands import ROOT, doc_commands, inline_commands

_RUN_DIRECTLY = ("bin/", "scripts/", "benchmarks/")


def _repo_file(token: str) -> Path | None:
    if "/" not in token or token.startswith(("/", "$", "~", ".venv/")):
        return None
    path = ROOT / token
    return path if path.is_file() else None


def _first_token(text: str) -> str:
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return words[0] if words else ""


def run_directly() -> dict[str, set[str]]:
    """Repository files the docs run as commands, with where they do it."""
    found: dict[str, set[str]] = {}
    for cmd in doc_commands():
        path = _repo_file(_first_token(cmd.text))
        if path is not None:
            found.setdefault(str(path.relative_to(ROOT)), set()).add(cmd.where)
    for where, span in inline_commands():
        token = _first_token(span)
        path = _repo_file(token)
        if path is None:
            continue
        # `scripts/x.py`, `tests/x.sh`, `some/file --with args`: shown as a command, not as a file name
        if token.startswith(_RUN_DIRECTLY) or token.endswith(".sh") or len(span.split()) > 1:
            found.setdefault(str(path.relative_to(ROOT)), set()).add(where)
    return found


def test_the_docs_run_some_files_directly() -> None:
    found = run_directly()
    assert "bin/dlrig" in found and "scripts/preflight.py" in found


def test_every_file_the_docs_run_directly_is_executable() -> None:
    bad = []
    for rel, where in sorted(run_directly().items()):
        path = ROOT / rel
        if not os.access(path, os.X_OK) or path.read_bytes()[:2] != b"#!":
            bad.append(f"{rel} (run at {', '.join(sorted(where))})")
    assert not bad, "not executable or without a #! line: " + "; ".join(bad)
