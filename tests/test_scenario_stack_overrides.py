"""No Molecule scenario sets a role variable that the preflight's resolver provides (a role default built
from ``dlrig_stack``) without a comment saying why that scenario must differ from the resolver (issue 9).

Scans the YAML files under molecule/ (inventories, playbooks): each such assignment must sit in a block of
consecutive comment/assignment lines whose comments name the resolver (``resolver``, ``dlrig_stack`` or
``preflight``)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WHY = re.compile(r"resolver|dlrig_stack|preflight", re.IGNORECASE)


def stack_vars() -> set[str]:
    names: set[str] = set()
    for defaults in sorted(ROOT.glob("roles/*/defaults/main.yml")):
        for key, value in (yaml.safe_load(defaults.read_text()) or {}).items():
            if "dlrig_stack" in str(value):
                names.add(key)
    return names


def test_the_resolver_fed_role_variables_are_found() -> None:
    names = stack_vars()
    assert {"nvidia_driver_branch", "cuda_versions", "cuda_cudnn_major", "python_runtime_version",
            "pytorch_env_torch_version", "tensorflow_env_tensorflow_version"} <= names, sorted(names)


def overrides_without_a_reason(root: Path = ROOT) -> list[str]:
    names = stack_vars()
    pattern = re.compile(r"^\s*(?:-\s+)?(" + "|".join(sorted(map(re.escape, names))) + r")\s*:")
    bad = []
    for path in sorted(root.glob("molecule/**/*.yml")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            found = pattern.match(line)
            if not found:
                continue
            block = []
            for above in reversed(lines[:number]):
                if not above.strip() or above.strip() == "---":
                    break
                block.append(above)
            if not any(WHY.search(text) for text in block if text.lstrip().startswith("#")):
                bad.append(f"{path.relative_to(root)}:{number + 1}: {found.group(1)} set without a comment "
                           "saying why this scenario differs from the resolver")
    return bad


def test_every_scenario_override_of_the_resolver_says_why() -> None:
    assert overrides_without_a_reason() == []


def test_the_check_sees_an_override_without_a_reason(tmp_path: Path) -> None:
    scenario = tmp_path / "molecule" / "probe" / "inventory"
    scenario.mkdir(parents=True)
    (scenario / "vars.yml").write_text('---\n# mirror settings only\nnvidia_driver_branch: "535"\n'
                                       '# the resolver picks 580, this scenario tests 570\n'
                                       'nvidia_driver_branch: "570"\n')
    assert overrides_without_a_reason(tmp_path) == [
        "molecule/probe/inventory/vars.yml:3: nvidia_driver_branch set without a comment saying why this "
        "scenario differs from the resolver"]
