"""The collection's modules document themselves the way Ansible reads them (ansible-doc, ansible-lint's
argument checks): DOCUMENTATION, EXAMPLES and RETURN are YAML, and DOCUMENTATION names the module. A
plain scalar with ": " in it (an option like ``--only-binary :all:``) silently breaks the whole document,
which ansible-lint only reports as an ignored error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "collections" / "ansible_collections" / "dlrig" / "rig" / "plugins"
MODULES = sorted((PLUGINS / "modules").glob("*.py"))


def documents(path: Path) -> dict[str, str]:
    """The module's DOCUMENTATION, EXAMPLES and RETURN strings, by name."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def test_the_modules_are_found():
    assert {"python_env.py", "hardware_facts.py", "warn.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_documentation_examples_and_return_are_yaml(module):
    docs = documents(module)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, f"{module.name}: {sorted(docs)}"
    parsed = {}
    for name, text in docs.items():
        try:
            parsed[name] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            pytest.fail(f"{module.name}: {name} is not YAML: {exc}")
    assert parsed["DOCUMENTATION"]["module"] == module.stem
    assert isinstance(parsed["DOCUMENTATION"].get("short_description"), str)
