"""The declaration as YAML text with a comment on every figure saying where it came from.

Written by hand rather than through a YAML library: PyYAML drops comments, and ruamel.yaml is not a
controller requirement. Scalars go through ``yaml.safe_dump`` so that quoting is always right (a
release such as ``"20.10"`` stays text); :func:`render` checks that the text reads back as the values.
"""

from __future__ import annotations

from typing import Any

import yaml

from dlrig.init.declare import Figure, plain

LEGEND = """\
# Every figure says where it came from:
#   detected     read on the box (sysfs, /proc, nvidia-smi, /etc/os-release, DMI)
#   catalogue    dlrig/data/catalogue.yml's entry for the detected model
#   default      dlrig's typical figure for such a part; replace it when you know better
#   placeholder  "FILL IN: ..." could not be detected: the preflight refuses the host until it is filled
#   answered     given at `dlrig init`'s questions
#   declared     kept from the file this one replaced (`dlrig init --update`)
"""


def scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _lines(tree: Any, indent: int, first_prefix: str | None = None) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    items = list(tree.items())
    for n, (key, value) in enumerate(items):
        lead = first_prefix if (n == 0 and first_prefix is not None) else pad
        if isinstance(value, Figure):
            out.append(f"{lead}{key}: {scalar(value.value)}  # {value.comment}")
        elif isinstance(value, dict):
            out.append(f"{lead}{key}:" if value else f"{lead}{key}: {{}}")
            out += _lines(value, indent + 2)
        elif isinstance(value, list):
            if not value or not all(isinstance(e, dict) for e in value):
                origin = "declared" if value else "detected: none found"
                out.append(f"{lead}{key}: {scalar(value)}  # {origin}")
                continue
            out.append(f"{lead}{key}:")
            for entry in value:
                out += _lines(entry, indent + 4, first_prefix=" " * (indent + 2) + "- ")
        else:  # kept verbatim from a previous file (no provenance of its own)
            out.append(f"{lead}{key}: {scalar(value)}  # declared")
    return out


def render(tree: dict[str, Any], header: str) -> str:
    """The file's text: ``header`` (comment lines), the legend, then the declaration."""
    body = "\n".join(_lines(tree, 0))
    text = f"---\n{header.rstrip()}\n{LEGEND}{body}\n"
    if yaml.safe_load(text) != plain(tree):  # pragma: no cover - a rendering bug, never a user error
        raise RuntimeError("the rendered declaration does not read back as the detected values")
    return text
