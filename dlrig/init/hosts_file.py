"""The host's line in the inventory (``inventory/hosts.yml``), added as text so its comments survive.

The project's inventory lists workstations under ``all.children.workstations.hosts``; ``init`` adds
the new host there, with ``ansible_connection: local`` (this machine) or ``ansible_host: ADDRESS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dlrig.errors import InputError

GROUP = "workstations"


def hosts_in(data: Any) -> set[str]:
    """Every host name an inventory YAML document lists, in any group."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "hosts" and isinstance(value, dict):
                found.update(str(h) for h in value)
            else:
                found |= hosts_in(value)
    return found


def entry(name: str, address: str | None) -> list[str]:
    """The host's lines, indented for ``all.children.workstations.hosts``."""
    lines = [f"        {name}:"]
    if address is None:
        lines += ["          ansible_connection: local",
                  "          # Local runs use the controller's own interpreter (no discovery surprises).",
                  '          ansible_python_interpreter: "{{ ansible_playbook_python }}"']
    else:
        lines += [f"          ansible_host: {address}"]
    return lines


def add_host(path: Path, name: str, address: str | None) -> bool:
    """Add ``name`` to the inventory file; False when it is already listed. InputError when the file
    is not the project's layout (then the user adds the line; the message says which)."""
    if not path.exists():
        path.write_text("---\nall:\n  children:\n    workstations:\n      hosts:\n"
                        + "\n".join(entry(name, address)) + "\n", encoding="utf-8")
        return True
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = f"cannot read the inventory: {' '.join(str(exc).split())}"
        raise InputError(None, str(path), problem) from None
    if name in hosts_in(data):
        return False
    lines = text.splitlines()
    group = next((i for i, line in enumerate(lines) if line.rstrip() == f"    {GROUP}:"), None)
    hosts = None if group is None else next(
        (i for i in range(group + 1, len(lines)) if lines[i].rstrip() == "      hosts:"), None)
    if hosts is None:
        raise InputError(None, str(path), f"no `all.children.{GROUP}.hosts` block to add {name} to; add "
                         f"it by hand: {name}: {{ansible_host: ADDRESS}}")
    end = hosts + 1  # after the group's last host (its indented lines), before what follows the block
    while end < len(lines) and (lines[end].startswith("        ") or not lines[end].strip()):
        end += 1
    while end > hosts + 1 and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = entry(name, address)
    new = "\n".join(lines) + "\n"
    if name not in hosts_in(yaml.safe_load(new)):  # pragma: no cover - layout guard
        raise InputError(None, str(path), f"could not add {name}; add it by hand")
    path.write_text(new, encoding="utf-8")
    return True
