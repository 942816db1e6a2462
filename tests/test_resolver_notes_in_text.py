"""The resolver's notes (why a version is not the newest) are in the text report too, one line each
under the stack check (issue 19, finding 10: they were only in JSON)."""

from __future__ import annotations

import json

from clirun import run_cli


def test_text_report_shows_every_stack_note_under_the_stack_line() -> None:
    code, out, _ = run_cli(["--format", "json"])
    assert code == 0
    stack = next(c for c in json.loads(out)["hosts"][0]["checks"] if c["id"] == "stack")
    notes = stack["notes"]
    assert notes, "the shipped 18.04 host has notes (standalone Python, torch's glibc floor)"
    code, text, _ = run_cli([])
    assert code == 0
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[1:2] == ["stack"])
    assert [line.strip() for line in lines[at + 1: at + 1 + len(notes)]] == [f"- {n}" for n in notes]
    assert lines[at + len(notes) + 1].split()[:2] == ["power", "budget"]
