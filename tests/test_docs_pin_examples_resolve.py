"""Every stack pin example the docs show resolves for the host it is shown with (issue 19, finding 9: the
docs' pin example named a driver branch NVIDIA does not package for the shipped host's Ubuntu 18.04). The
examples are read from the docs at test time. The host is the shipped one, unless a marker
``<!-- doc-test: pins-for INVENTORY HOST -->`` names another, up to the next heading."""

from __future__ import annotations

import json
import re

import yaml
from clirun import run_cli
from doccommands import ROOT, doc_files

_PINS = re.compile(r"stack: (\{[^}]*\})")
_FOR = re.compile(r"<!--\s*doc-test:\s*pins-for\s+(\S+)\s+(\S+)\s*-->")


def pin_examples() -> list[tuple[str, dict[str, str], list[str]]]:
    """``(doc:line, pins, preflight options naming the host)`` for every pin example."""
    found = []
    for path in [*doc_files(), ROOT / "scripts" / "support_table.py"]:
        host: list[str] = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("#") and path.suffix == ".md":
                host = []
            if marker := _FOR.search(line):
                host = ["-i", marker.group(1), "--limit", marker.group(2)]
            for m in _PINS.finditer(line.replace("{{", "{").replace("}}", "}").replace('\\"', '"')):
                text = re.sub(r",\s*\.\.\.\s*\}", "}", m.group(1))
                pins = yaml.safe_load(text)
                if pins:
                    found.append((f"{path.relative_to(ROOT)}:{n}", pins, host))
    return found


def test_the_docs_show_pin_examples() -> None:
    assert len(pin_examples()) >= 2


def test_every_pin_example_resolves_for_the_shipped_host() -> None:
    bad = []
    for where, pins, host in pin_examples():
        code, out, err = run_cli([*host, "--format", "json", "-e", json.dumps({"stack": pins})])
        stack = [c for c in json.loads(out)["hosts"][0]["checks"] if c["id"] == "stack"] if out else []
        if code != 0 or not stack or stack[0]["status"] != "ok":
            bad.append(f"{where} {pins}: {err.strip() or (stack[0]['message'] if stack else out)}")
    assert not bad, "\n".join(bad)
