"""The shell commands the documentation shows, read from the docs at test time (issue 19).

Docs: README.md, docs/*.md, roles/*/README.md. A *block* is a fenced ```sh, ```bash, ```shell or
```console block, or a ```text block with ``$ `` prompt lines (the docs' "real output" samples).

- In sh/bash/shell blocks every line is a command (``\\`` continues it, ``# ...`` comments are dropped);
  no output is shown.
- In console and text blocks a line ``$ CMD`` is a command and the lines after it, up to the next
  prompt, are its output as the docs show it: ``...`` stands for any number of lines, a last line
  ``(exit N)`` is the exit code.

Markers, HTML comments right before a block (blank lines and other markers may come between):

- ``<!-- doc-test: skip — REASON -->``: no command of the block is run;
- ``<!-- doc-test: skip `PREFIX` — REASON -->``: the block's commands that start with PREFIX are not run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*skip\s*(?:`([^`]+)`)?\s*[—:-]+\s*(.+?)\s*-->\s*$")
_SHELL = {"sh", "bash", "shell", "console"}
_EXIT = re.compile(r"^\(exit (\d+)\)$")


@dataclass
class Command:
    """One command of a doc block."""

    doc: str                    # path relative to the repository root
    line: int                   # 1-based line of the command in the doc
    text: str                   # the command as shown (continuations joined, comment dropped)
    output: list[str] | None    # the output the docs show (None: none shown)
    exit_code: int | None       # the exit code the docs show
    skip: str | None = None     # the marker's reason when the command is not run

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text)


@dataclass
class _Block:
    lang: str
    start: int                  # line of the opening fence (1-based)
    lines: list[str]
    skips: list[tuple[str | None, str]] = field(default_factory=list)


def doc_files(root: Path = ROOT) -> list[Path]:
    docs = sorted((root / "docs").glob("*.md"))
    return [root / "README.md", *docs, *sorted(root.glob("roles/*/README.md"))]


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    pending: list[tuple[str | None, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            pending.append((marker.group(1), marker.group(2)))
        elif fence:
            lang, body, j = fence.group(2).lower(), [], i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                body.append(lines[j])
                j += 1
            blocks.append(_Block(lang, i + 1, body, pending))
            pending = []
            i = j
        elif line.strip():
            pending = []
        i += 1
    return blocks


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` outside quotes."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def _skip_for(block: _Block, text: str) -> str | None:
    for prefix, reason in block.skips:
        if prefix is None or text.startswith(prefix):
            return reason
    return None


def _commands_of(doc: str, block: _Block) -> list[Command]:
    out: list[Command] = []
    if block.lang in {"sh", "bash", "shell"}:
        joined, first = "", 0
        for k, raw in enumerate(block.lines):
            line = _strip_comment(raw) if not joined else raw.rstrip()
            if not joined:
                first = block.start + 1 + k
            if line.endswith("\\"):
                joined += line[:-1].strip() + " "
                continue
            joined = _strip_comment(joined + line.strip()) if joined else line.strip()
            if joined:
                out.append(Command(doc, first, joined, None, None, _skip_for(block, joined)))
            joined = ""
        return out
    if block.lang not in {"console", "text"}:
        return out
    current: Command | None = None
    for k, raw in enumerate(block.lines):
        if current is not None and current.text.endswith("\\") and not current.output:
            # A prompt line continued with a backslash: the next line belongs to the command.
            current.text = _strip_comment(current.text[:-1].rstrip() + " " + raw.strip())
            current.skip = _skip_for(block, current.text)
        elif raw.startswith("$ "):
            text = _strip_comment(raw[2:])
            current = Command(doc, block.start + 1 + k, text, [], None, _skip_for(block, text))
            out.append(current)
        elif current is not None and current.output is not None:
            current.output.append(raw.rstrip())
    for cmd in out:
        lines = cmd.output or []
        while lines and not lines[-1]:
            lines.pop()
        if lines and (m := _EXIT.match(lines[-1].strip())):
            cmd.exit_code = int(m.group(1))
            lines.pop()
            while lines and not lines[-1]:
                lines.pop()
        cmd.output = lines or None
    return out


def doc_commands(root: Path = ROOT) -> list[Command]:
    """Every command of every doc block, in doc order."""
    commands: list[Command] = []
    for path in doc_files(root):
        doc = str(path.relative_to(root))
        for block in _blocks(path.read_text(encoding="utf-8")):
            prompts = any(x.startswith("$ ") for x in block.lines)
            if block.lang in _SHELL or (block.lang == "text" and prompts):
                commands.extend(_commands_of(doc, block))
    return commands


_SPAN = re.compile(r"`([^`\n]+)`")


def inline_commands(root: Path = ROOT) -> list[tuple[str, str]]:
    """``(doc:line, span)`` for every inline code span of the docs (outside fenced blocks)."""
    spans: list[tuple[str, str]] = []
    for path in doc_files(root):
        doc, inside = str(path.relative_to(root)), False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("```"):
                inside = not inside
                continue
            if not inside:
                spans.extend((f"{doc}:{n}", m.group(1)) for m in _SPAN.finditer(line))
    return spans


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` lines match ``expected``, where an expected ``...`` line stands for any number
    of lines. Both sides are compared without trailing blanks."""
    exp = [x.rstrip() for x in expected]
    act = [x.rstrip() for x in actual]
    while act and not act[-1]:
        act.pop()

    def go(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i].strip() == "...":
            return any(go(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and exp[i] == act[j] and go(i + 1, j + 1)

    return go(0, 0)
