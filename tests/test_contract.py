"""The contract between the preflight and the roles: the stack the preflight resolves (``dlrig_stack``)
is what every role accepts.

Cells: every cell of the README's support tables (each release without GPUs and with one GPU of each
generation, as scripts/support_table.py iterates them), the reference build (inventory/host_vars/
deep-al.yml, read from the file) with its planned upgrade, and every pin example of docs/stack.md
(parsed from the doc) on every release with and without a GPU. For each cell the preflight's stack
check runs on the declaration; a cell it refuses is asserted as a refusal with its reason. The stacks it
accepts go, with their release's facts, through every role's input checks in one ansible-playbook run
(one host per cell, connection local, no facts gathered):

- the roles' own release/assert tasks (tasks/release_vars.yml of base, nvidia_driver, cuda and
  python_runtime; the assert tasks of pytorch_env's and python_env's task files, copied from them);
- each role's meta/argument_specs.yml main entry, validated with Ansible's ArgumentSpecValidator
  against the role's variables as Ansible templates them for that host (python_env with the variables
  each framework role passes it).

A failure names the cell, the role and the variable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from dlrig.checks.stack import check_stack, role_facts
from dlrig.plan import catalogue
from dlrig.plan.parse import parse_host
from dlrig.stack.matrix import OsSpec, variant_cuda
from dlrig.stack.matrix_file import load_matrix
from dlrig.stack.resolver import resolve

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import support_table  # noqa: E402

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REFERENCE = ROOT / "inventory" / "host_vars" / "deep-al.yml"
STACK_DOC = ROOT / "docs" / "stack.md"

#: The roles in site.yml's order; those with tasks/release_vars.yml run it, the others' defaults and
#: vars are loaded as include_vars (their tasks install things).
ROLES = ("base", "nvidia_driver", "cuda", "python_runtime", "pytorch_env", "tensorflow_env", "gpu_verify")
#: python_env is included by these framework roles, with the variables of their include_role task.
FRAMEWORKS = ("pytorch_env", "tensorflow_env")


@dataclass
class Cell:
    name: str  # the inventory host name: letters, digits, underscores
    label: str  # what a person reads in a failure
    hostvars: dict[str, Any]
    os_spec: OsSpec
    status: str = ""
    message: str = ""
    stack: dict[str, Any] = field(default_factory=dict)


def _card(arch: str) -> dict[str, Any]:
    """A catalogue card of ``arch``, the support table's representative compute capability first; for
    an architecture the catalogue has no card of, the representative declared with its ``arch``."""
    name, cc = support_table._REPRESENTATIVE.get(arch, (f"{arch} GPU", ""))
    cards = [g for g in catalogue.gpus() if g.arch == arch]
    card = next((g for g in cards if g.compute_capability == cc), cards[0] if cards else None)
    if card is None:
        return {"model": name, "arch": arch, "count": 1, "watts": 250, "vram_gb": 16}
    return {"model": card.name, "count": 1}


def _os(os_spec: OsSpec) -> dict[str, str]:
    return {"distribution": os_spec.distribution, "release": os_spec.release}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _doc_pins() -> list[dict[str, str]]:
    """The `stack: {...}` examples of docs/stack.md (an ellipsis ends a list that is not exhaustive)."""
    pins = []
    for span in re.findall(r"`stack:\s*(\{[^`]*\})`", STACK_DOC.read_text(encoding="utf-8")):
        parsed = yaml.safe_load(re.sub(r",\s*\.\.\.\s*\}", "}", span))
        assert isinstance(parsed, dict) and parsed, f"docs/stack.md: unreadable pin example {span}"
        pins.append({str(k): str(v) for k, v in parsed.items()})
    return pins


def cells() -> list[Cell]:
    matrix = load_matrix()
    found: list[Cell] = []
    archs = [a.name for a in matrix.architectures]
    for os_spec in matrix.os_releases:
        for arch in [None, *archs]:
            hardware = {"gpus": [_card(arch)]} if arch else {}
            found.append(Cell(f"table_{_slug(os_spec.label)}_{_slug(arch or 'no_gpu')}",
                              f"support table: {os_spec.label}, {arch or 'no GPU'}",
                              {"os": _os(os_spec), "hardware": hardware}, os_spec))
    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    ref_os = next(o for o in matrix.os_releases if o.distribution == reference["os"]["distribution"]
                  and o.release == str(reference["os"]["release"]))
    found.append(Cell("reference_deep_al", "reference build (inventory/host_vars/deep-al.yml)",
                      reference, ref_os))
    # Its planned upgrade (the comment in the file): two RTX 2080 instead of the RTX 2070.
    upgraded = {**reference, "hardware": {**reference["hardware"],
                                          "gpus": [{"model": "GeForce RTX 2080", "count": 2}]}}
    found.append(Cell("reference_deep_al_2x2080", "reference build with 2x GeForce RTX 2080",
                      upgraded, ref_os))
    for i, pins in enumerate(_doc_pins()):
        for os_spec in matrix.os_releases:
            for arch in (None, "Turing"):
                hardware = {"gpus": [_card(arch)]} if arch else {}
                found.append(Cell(f"doc_pin{i}_{_slug(os_spec.label)}_{_slug(arch or 'no_gpu')}",
                                  f"docs/stack.md pin example stack: {pins} on {os_spec.label}, "
                                  f"{arch or 'no GPU'}",
                                  {"os": _os(os_spec), "hardware": hardware, "stack": pins}, os_spec))
    for cell in found:
        result = check_stack(parse_host(cell.name, cell.hostvars))
        cell.status, cell.message = result.status, result.message
        cell.stack = role_facts(result.figures) if result.status != "fail" else {}
    return found


CELLS = cells()


def _facts(os_spec: OsSpec) -> dict[str, Any]:
    """What Ansible's setup module reports for the release (the variables the roles read)."""
    return {
        "ansible_distribution": os_spec.distribution,
        "ansible_distribution_version": os_spec.release,
        "ansible_distribution_major_version": os_spec.release.split(".")[0],
        "ansible_distribution_release": os_spec.codename,
        "ansible_os_family": "Debian",
        "ansible_architecture": "x86_64",
        "ansible_kernel": "6.1.0-test-amd64",
        "ansible_virtualization_role": "host",
        "ansible_virtualization_type": "kvm",
    }


def _tasks(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def _option_names(role: str) -> list[str]:
    """The main entry's options that the role defines (defaults/ or vars/main.yml): the ones Ansible's
    argument validation reads from the host's variables."""
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"].get("options") or {}
    defined: set[str] = set()
    for sub in ("defaults", "vars"):
        path = ROOT / "roles" / role / sub / "main.yml"
        if path.is_file():
            defined |= set(yaml.safe_load(path.read_text()) or {})
    return sorted(name for name in options if name in defined)


def _role_vars(role: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for sub in ("defaults", "vars"):
        path = ROOT / "roles" / role / sub / "main.yml"
        if path.is_file():
            found.update(yaml.safe_load(path.read_text()) or {})
    return found


def _spec(role: str) -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"].get("options") or {}


def _dump(key: str, names: list[str], extra_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task showing the templated values of ``names`` (a controller-side debug: no module runs; the
    JSON callback hands its msg back)."""
    return {
        "name": f"contract: the variables of {key}",
        "ansible.builtin.debug": {
            "msg": "{{ dict(contract_names | zip(query('ansible.builtin.vars', *contract_names))) }}"},
        "vars": {"contract_names": names, **(extra_vars or {})},
    }


def _framework_tasks(role: str) -> list[dict[str, Any]]:
    """The framework role's own tasks up to its include of python_env (its asserts and set_facts, with
    its role_path), then python_env's checks with the variables that include passes."""
    role_path = str(ROOT / "roles" / role)
    tasks: list[dict[str, Any]] = []
    for task in _tasks(ROOT / "roles" / role / "tasks" / "main.yml"):
        include = task.get("ansible.builtin.include_role")
        if include and include.get("name") == "python_env":
            # python_env's defaults and vars under the include's variables, as the include sees them
            # (task variables: include_vars would win over the include's own).
            env_vars = {**_role_vars("python_env"), **task.get("vars", {}),
                        "role_path": str(ROOT / "roles" / "python_env")}
            for env_task in _tasks(ROOT / "roles" / "python_env" / "tasks" / "lock.yml"):
                # its parameter checks; not the one on the lock it picks later (python_env_lock_path)
                if "ansible.builtin.assert" in env_task and "python_env_lock_path" not in str(env_task):
                    tasks.append({**env_task, "vars": {**env_task.get("vars", {}), **env_vars}})
            tasks.append(_dump(f"python_env_via_{role}", _option_names("python_env"), env_vars))
            break
        tasks.append({**task, "vars": {**task.get("vars", {}), "role_path": role_path}})
    return tasks


def playbook() -> list[dict[str, Any]]:
    """One play: the roles' release_vars.yml imported (static: parsed once, their defaults and vars
    exposed to the play), the other roles' defaults and vars as vars_files, the framework roles' own
    checks, then one task showing every role variable."""
    tasks: list[dict[str, Any]] = []
    vars_files: list[str] = []
    for role in ROLES:
        if (ROOT / "roles" / role / "tasks" / "release_vars.yml").is_file():
            tasks.append({"name": f"contract: {role} release_vars.yml",
                          "ansible.builtin.import_role": {"name": role, "tasks_from": "release_vars"}})
        else:
            vars_files += [str(ROOT / "roles" / role / sub / "main.yml") for sub in ("defaults", "vars")
                           if (ROOT / "roles" / role / sub / "main.yml").is_file()]
        if role in FRAMEWORKS:
            tasks += _framework_tasks(role)
    names = sorted({name for role in ROLES for name in _option_names(role)})
    tasks.append(_dump("roles", names))
    return [{"name": "contract", "hosts": "all", "gather_facts": False, "vars_files": vars_files,
             "tasks": tasks}]


@pytest.fixture(scope="module")
def contract_run(tmp_path_factory) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Run the play once for every accepted cell: the role variables (host -> key -> values) and the
    failures (host -> 'task: message')."""
    work = tmp_path_factory.mktemp("contract")
    hosts: dict[str, dict[str, Any]] = {}
    played_by: dict[str, str] = {}  # cell -> the host that plays it (cells with the same inputs share one)
    host_of: dict[str, str] = {}  # inputs -> host
    for cell in CELLS:
        if cell.status == "fail":
            continue
        host = {**_facts(cell.os_spec), "dlrig_stack": cell.stack,
                "hardware": cell.hostvars.get("hardware") or {}, "os": cell.hostvars["os"]}
        inputs = json.dumps({**host, "hardware": {"gpus": [
            {"count": g.get("count", 1), "power_limit_w": g.get("power_limit_w")}
            for g in host["hardware"].get("gpus", [])]}}, sort_keys=True)
        played_by[cell.name] = host_of.setdefault(inputs, cell.name)
        if played_by[cell.name] == cell.name:
            hosts[cell.name] = {**host, "ansible_connection": "local",
                                "ansible_python_interpreter": sys.executable}
    (work / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (work / "play.yml").write_text(yaml.safe_dump(playbook(), sort_keys=False))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CALLBACKS_ENABLED": "",
           "ANSIBLE_CACHE_PLUGIN": "memory", "ANSIBLE_FORKS": "8", "ANSIBLE_ROLES_PATH": str(ROOT / "roles")}
    run = subprocess.run([str(PLAYBOOK), "-i", str(work / "inventory.yml"), str(work / "play.yml")],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the contract play did not run: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    values: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            for host, result in task["hosts"].items():
                if result.get("failed") and host not in failures:
                    failures[host] = f"{name}: {result.get('msg', result)}"
                elif name.startswith("contract: the variables of "):
                    values.setdefault(host, {})[name.rsplit(" ", 1)[1]] = result["msg"]
    for cell_name, host_name in played_by.items():
        values[cell_name] = values.get(host_name, {})
        if host_name in failures:
            failures[cell_name] = failures[host_name]
    return values, failures


def test_the_cells_cover_the_support_tables_the_reference_build_and_the_doc_pins():
    matrix = load_matrix()
    table = [c for c in CELLS if c.name.startswith("table_")]
    assert len(table) == len(matrix.os_releases) * (len(matrix.architectures) + 1)
    assert any(c.name == "reference_deep_al" for c in CELLS)
    assert _doc_pins(), "docs/stack.md has no `stack: {...}` pin example any more"


@pytest.mark.parametrize("cell", [c for c in CELLS if c.name.startswith("table_")], ids=lambda c: c.name)
def test_a_table_cell_is_what_the_support_table_shows(cell):
    """The cell's card resolves as the support table's representative does (same cell, same stack)."""
    matrix = load_matrix()
    arch = cell.label.rsplit(", ", 1)[1]
    gpus = [] if arch == "no GPU" else [support_table._gpu(matrix, arch)]
    res = resolve(cell.os_spec.distribution, cell.os_spec.release, gpus, {}, matrix=matrix)
    assert res.ok == (cell.status != "fail"), f"{cell.label}: preflight says {cell.status}: {cell.message}"
    if res.ok:
        resolved = {k: v for k, v in res.versions.items() if v is not None}
        assert resolved.items() <= cell.stack.items(), cell.label


def test_the_reference_build_is_accepted_with_cudnn_8_9():
    cell = next(c for c in CELLS if c.name == "reference_deep_al")
    assert cell.status == "ok", cell.message
    got = (cell.stack["cuda"], cell.stack["cudnn"], cell.stack["apt_repo_path"])
    assert got == ("12.1", "8.9", "ubuntu1804")


@pytest.mark.parametrize("cell", [c for c in CELLS if c.status == "fail"], ids=lambda c: c.name)
def test_a_refused_cell_is_refused_up_front_with_its_reason(cell):
    """What the preflight refuses never reaches a role: the stack check fails, the facts are empty, and
    the message says why (the pin it cannot honour, or the GPU and the release)."""
    assert cell.stack == {}
    pins = cell.hostvars.get("stack") or {}
    reasons = cell.message.split("; ")
    assert reasons and all(reasons), f"{cell.label}: refused without a reason"
    named = [f"{key} {value} (pinned)" for key, value in pins.items()]
    gpus = [g["model"] for g in (cell.hostvars.get("hardware") or {}).get("gpus", [])]
    assert any(any(n in r for n in named + gpus) or cell.os_spec.label in r for r in reasons), (
        f"{cell.label}: the refusal names neither a pin, a GPU nor the release: {cell.message}")


def test_blackwell_on_ubuntu_18_04_is_refused_because_nvidia_ships_no_driver_for_it():
    cell = next(c for c in CELLS if c.name == "table_ubuntu_18_04_blackwell")
    assert cell.status == "fail"
    assert "Ubuntu 18.04" in cell.message and "570" in cell.message, cell.message


@pytest.mark.parametrize("cell", [c for c in CELLS if c.status != "fail"], ids=lambda c: c.name)
def test_every_role_accepts_the_stack_the_preflight_resolves(contract_run, cell):
    values, failures = contract_run
    assert cell.name not in failures, (
        f"{cell.label}: a role's own check refuses the preflight's stack {cell.stack}: {failures[cell.name]}")
    problems = []
    checks = [(role, role, "roles") for role in ROLES]
    checks += [(f"python_env (included by {f})", "python_env", f"python_env_via_{f}") for f in FRAMEWORKS]
    for label, role, key in checks:
        shown = values[cell.name][key]
        params = {name: shown[name] for name in _option_names(role)}
        result = ArgumentSpecValidator(_spec(role)).validate(params)
        for error in result.errors:
            problems.append(f"{cell.label}: role {label}: {error}")
    assert not problems, "\n".join(problems)


def test_the_reference_build_installs_the_cudnn_build_of_its_cuda(contract_run):
    values = contract_run[0]["reference_deep_al"]["roles"]
    assert values["cuda_cudnn_packages"] == ["libcudnn8=8.9.*-1+cuda12.1", "libcudnn8-dev=8.9.*-1+cuda12.1"]
    assert values["cuda_toolkit_packages"] == ["cuda-toolkit-12-1"]


def test_pytorch_env_knows_the_driver_floor_of_every_torch_cuda_build_of_the_matrix():
    """pytorch_env's driver check is skipped for a variant it does not list: every CUDA build the
    resolver can pick has its entry, the branch of the toolkit's minimum driver in the matrix."""
    matrix = load_matrix()
    floors = yaml.safe_load((ROOT / "roles" / "pytorch_env" / "vars" / "main.yml").read_text())[
        "pytorch_env_variant_min_driver"]
    min_driver = {c.version: c.min_driver for c in matrix.cuda_releases}
    variants = {v for t in matrix.torch_releases for v in t.variants if v != "cpu"}
    for variant in sorted(variants):
        cuda = variant_cuda(variant)
        assert cuda is not None
        version = f"{cuda[0]}.{cuda[1]}"
        assert variant in floors, (
            f"roles/pytorch_env/vars/main.yml: pytorch_env_variant_min_driver lacks {variant}")
        assert floors[variant] == int(str(min_driver[version]).split(".")[0]), (
            f"pytorch_env_variant_min_driver[{variant}] is {floors[variant]}; CUDA {version} needs "
            f"{min_driver[version]} (dlrig/data/matrix.yml)")


def test_every_standalone_python_the_resolver_may_pick_has_a_pinned_build_in_python_runtime():
    """A `python:` pin (or a resolved standalone Python) that python_runtime has no checksum for would pass
    the preflight and stop in the role: the matrix lists only what the role can install."""
    defaults = yaml.safe_load((ROOT / "roles/python_runtime/defaults/main.yml").read_text())
    builds = defaults["python_runtime_standalone_builds"]
    missing = [v for v in load_matrix().python_standalone.versions if v not in builds]
    assert not missing, f"python_runtime has no pinned standalone build for {missing}"
