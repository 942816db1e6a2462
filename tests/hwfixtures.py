"""Shared helpers for the hardware-detection tests: the fixture trees and the host-side parser."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "tests" / "fixtures" / "hw"
COLLECTION = PROJECT / "collections" / "ansible_collections" / "dlrig" / "rig"
HWDETECT = COLLECTION / "plugins" / "module_utils" / "hwdetect.py"
MODULE = COLLECTION / "plugins" / "modules" / "hardware_facts.py"
CASES = ("rtx2070", "two-gpus", "x4-riser", "fell-off-bus", "no-gpu", "h200")


@cache
def hwdetect() -> ModuleType:
    """The module_utils file loaded by path (it runs on hosts, so it is not part of the dlrig package)."""
    spec = importlib.util.spec_from_file_location("dlrig_hwdetect_under_test", HWDETECT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text(case: str, name: str) -> str | None:
    path = FIXTURES / case / name
    return path.read_text() if path.exists() else None


def facts(case: str) -> dict[str, Any]:
    """The ``dlrig_hardware`` fact the module returns for a fixture case (same code path, no Ansible)."""
    return hwdetect().detect(
        str(FIXTURES / case / "root"), text(case, "lspci-vmmnD.txt"), text(case, "nvidia-smi.txt")
    )
