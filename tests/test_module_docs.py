"""Every module of the collection documents itself in YAML that parses (ansible-doc and ansible-lint read
DOCUMENTATION, EXAMPLES and RETURN; a ': ' in a plain list item broke python_env's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

PLUGINS = Path(__file__).resolve().parents[1] / "collections/ansible_collections/dlrig/rig/plugins"
MODULES = sorted((PLUGINS / "modules").glob("*.py"))


def _docs(path: Path) -> dict[str, str]:
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                    found[target.id] = str(node.value.value)
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_module_documentation_parses(path: Path) -> None:
    docs = _docs(path)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
    documentation = yaml.safe_load(docs["DOCUMENTATION"])
    assert documentation["module"] == path.stem
    yaml.safe_load(docs["EXAMPLES"])
    yaml.safe_load(docs["RETURN"])
