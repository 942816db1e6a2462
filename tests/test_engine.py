"""The checks engine (issue 18): a check added through the registry alone reaches every output; the CLI's
``--live`` and the playbook's live preflight return the same verdicts; a declared ``arch`` places a card
the same way in the preflight and in the upgrade's driver decision."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import run_cli
from hwfixtures import FIXTURES, facts

from dlrig import cli
from dlrig.checks.registry import REGISTRY, Check, Context
from dlrig.checks.stack import check_stack
from dlrig.plan.parse import parse_host
from dlrig.result import CheckResult
from dlrig.upgrade.driver import decide_driver
from dlrig.upgrade.live import Detection, live_document

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "inventory/host_vars/deep-al.yml").read_text())
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


# --- a dummy check through the registry alone --------------------------------------------------------

def _probe(ctx: Context) -> CheckResult:
    where = "live" if ctx.mode == "live" else "plan"
    return CheckResult("dummy_probe", "warn", f"the probe looked ({where})", {"probe_w": 42.0})


def _key(figures: Mapping[str, Any], currency: str | None) -> str:
    return f"probe {figures.get('probe_w')}"


DUMMY = Check("dummy_probe", _probe, needs="plan", modes=frozenset(("plan", "what_if", "live")), order=15,
              figures=("probe_w",), key_figures=_key, details=lambda entry: ["  probe block: 42 W"],
              summary=("probe_w",))


@pytest.fixture
def dummy():
    with REGISTRY.added(DUMMY):
        yield


def _detector(found: Mapping[str, dict[str, Any]]) -> Any:
    def detect(inventories: Any, pattern: Any, names: list[str], module_args: Any, become: Any) -> Any:
        return {name: Detection(name, facts=found[name]) for name in names}
    return detect


def test_a_dummy_check_reaches_text_json_what_if_and_live(dummy) -> None:
    inventory = str(ROOT / "inventory")
    code, text, err = run_cli(["-i", inventory, "--limit", "deep-al"])
    assert code == 0, err
    assert "WARN dummy_probe" in text and "the probe looked (plan)" in text and "probe block: 42 W" in text

    code, out, err = run_cli(["-i", inventory, "--limit", "deep-al", "--format", "json"])
    host = json.loads(out)["hosts"][0]
    probe = next(c for c in host["checks"] if c["id"] == "dummy_probe")
    assert (probe["status"], probe["probe_w"]) == ("warn", 42.0) and host["summary"]["probe_w"] == 42.0
    assert [c["id"] for c in host["checks"]].index("dummy_probe") == 1  # order 15: after psu_headroom

    code, out, err = run_cli(["-i", inventory, "--limit", "deep-al", "--what-if", "memory=64"])
    assert "dummy_probe" in out and "probe 42.0" in out, out
    code, out, err = run_cli(["-i", inventory, "--limit", "deep-al", "--what-if", "memory=64",
                              "--format", "json"])
    row = next(r for r in json.loads(out)["hosts"][0]["comparison"]["checks"] if r["id"] == "dummy_probe")
    assert row["planned"]["figures"] == {"probe_w": 42.0}

    args = cli.build_parser().parse_args(["--live", "-i", inventory, "--limit", "deep-al"])
    out_stream = io.StringIO()
    cli.run(args, out_stream, detector=_detector({"deep-al": facts("rtx2070")}))
    assert "dummy_probe" in out_stream.getvalue() and "the probe looked (live)" in out_stream.getvalue()


def test_without_the_dummy_nothing_of_it_is_left() -> None:
    _, out, _ = run_cli(["-i", str(ROOT / "inventory"), "--limit", "deep-al", "--format", "json"])
    host = json.loads(out)["hosts"][0]
    assert "dummy_probe" not in [c["id"] for c in host["checks"]] and "probe_w" not in host["summary"]


def test_a_check_id_is_registered_once_per_mode() -> None:
    with REGISTRY.added(DUMMY), pytest.raises(ValueError, match="registered twice"):
        REGISTRY.add(DUMMY)


# --- the CLI's --live and the playbook's live preflight: the same verdicts -----------------------------

def _hostvars(os_declared: bool) -> dict[str, Any]:
    hostvars = copy.deepcopy({"hardware": REFERENCE["hardware"], "power": REFERENCE["power"]})
    if os_declared:
        hostvars["os"] = REFERENCE["os"]
    return hostvars


# Each fixture with and without a declared `os`, and with and without the host's release in its facts (an
# `os` check, and the stack resolved from the facts when none is declared).
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "root").is_dir())  # every tests/fixtures/hw/*
HOSTS = {f"{case}-{declared}-{running}": (case, declared == "os", running == "facts")
         for case in CASES for declared in ("os", "noos") for running in ("facts", "nofacts")}
RUNNING = {"distribution": "Ubuntu", "release": "22.04"}


def _facts(case: str, running: bool) -> dict[str, Any]:
    found = facts(case)
    return {**found, "os": RUNNING} if running else found


def _cli_verdicts() -> dict[str, Any]:
    hosts = [(name, _hostvars(declared)) for name, (_case, declared, _running) in HOSTS.items()]
    found = {name: _facts(case, running) for name, (case, _declared, running) in HOSTS.items()}
    doc = live_document(hosts, ["inv"], None, detector=_detector(found))
    return {h["name"]: (h["verdict"], sorted((c["id"], c["status"]) for c in h["checks"]), h["driver"])
            for h in doc["hosts"]}


@pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not in this venv")
def test_cli_live_and_the_live_preflight_action_agree_on_every_detection_fixture(tmp_path: Path) -> None:
    inventory = {"all": {"hosts": {name: {**_hostvars(declared), "ansible_connection": "local",
                                          "ansible_python_interpreter": sys.executable,
                                          "fixture_facts": _facts(case, running)}
                                   for name, (case, declared, running) in HOSTS.items()}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "Live preflight on fixtures", "hosts": "all", "gather_facts": False,
        "tasks": [
            {"name": "Live preflight", "dlrig.rig.live_preflight": {"detected": "{{ fixture_facts }}"},
             "register": "live", "ignore_errors": True},
            {"name": "Keep the result", "delegate_to": "localhost",
             "ansible.builtin.copy": {"content": "{{ live | to_json }}",
                                      "dest": f"{out}/{{{{ inventory_hostname }}}}.json", "mode": "0600"}},
        ]}], sort_keys=False))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PYTHONPATH": ""}
    run = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts.yml"),
                          str(tmp_path / "play.yml")],
                         env=env, capture_output=True, text=True, check=False, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    expected = _cli_verdicts()
    assert len(CASES) >= 7 and "unknown-gpu" in CASES
    ids = {check for _verdict, checks, _driver in expected.values() for check, _status in checks}
    assert {"gpu_count", "pcie_link", "ram", "os", "stack", "declaration"} <= ids  # every kind was compared
    for name in HOSTS:
        result = json.loads((out / f"{name}.json").read_text())
        action = (result["verdict"], sorted((c["id"], c["status"]) for c in result["checks"]),
                  result["ansible_facts"]["dlrig_live_preflight"]["driver"])
        assert action == expected[name], name


# --- a declared arch: the preflight and the upgrade place the card alike -------------------------------

def test_a_declared_arch_resolves_the_same_in_the_stack_check_and_the_driver_decision() -> None:
    plan = parse_host("old-box", {"os": {"distribution": "Ubuntu", "release": "22.04"}, "hardware": {
        "gpus": [{"model": "GeForce GTX 980 Ti", "watts": 250, "vram_gb": 6, "arch": "Maxwell"}]}})
    stack = check_stack(plan)
    assert stack.status == "ok" and stack.figures["driver"] == "580"
    decision = decide_driver(plan, None, "Ubuntu", "22.04")
    assert "not in the catalogue" not in decision.reason
    assert (decision.action, decision.branch) == ("install", stack.figures["driver"])


def test_every_entry_of_the_package_has_a_row_in_the_readme_layout() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for entry in sorted((ROOT / "dlrig").iterdir()):
        if entry.name.startswith("_") or entry.name == "__pycache__":
            continue
        shown = f"`dlrig/{entry.name}{'/' if entry.is_dir() else ''}`"
        assert shown in readme, f"{shown} has no row in README.md's layout table"
