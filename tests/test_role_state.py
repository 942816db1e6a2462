"""The "nothing changed" fast path (dlrig.rig.role_state): what changes a role's state digest and what does
not (the module's functions against a temporary tree), the probe's verdicts and the stamps, and the whole
action (input fingerprints on the controller, one probe on the host) through real ansible-playbook runs
on this machine with two small roles."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / "collections"
MODULE = COLLECTIONS / "ansible_collections/dlrig/rig/plugins/modules/role_state.py"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dlrig_role_state_module", MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rs = load_module()


def spec_for(tmp: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "alpha",
        "fingerprint": "f1",
        "paths": [str(tmp / "etc" / "a.conf"), str(tmp / "d" / "*")],
        "units": [],
        "dpkg": False,
        "boot": False,
        **extra,
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "a.conf").write_text("x = 1\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one").write_text("1")
    (tmp_path / "unrelated").write_text("u")
    return tmp_path


def digest(tmp: Path, **extra: Any) -> str:
    return rs.state_digest(spec_for(tmp, **extra), {})


def test_the_digest_is_stable_and_ignores_what_the_role_does_not_manage(tree: Path) -> None:
    before = digest(tree)
    assert digest(tree) == before
    (tree / "unrelated").write_text("changed")
    os.utime(tree / "etc" / "a.conf", (1, 1))  # a touch (same content, mode, owner) is no drift
    (tree / "etc" / "a.conf").write_text("x = 1\n")  # rewritten with the same content
    assert digest(tree) == before


@pytest.mark.parametrize(
    "drift",
    [
        lambda t: (t / "etc" / "a.conf").write_text("x = 2\n"),
        lambda t: (t / "etc" / "a.conf").unlink(),
        lambda t: (t / "etc" / "a.conf").chmod(0o600),
        lambda t: (t / "d" / "two").write_text("2"),
        lambda t: (t / "d" / "one").write_text("11"),
        lambda t: (t / "d" / "one").unlink(),
    ],
    ids=["content", "deleted", "mode", "glob-gains-a-match", "glob-match-edited", "glob-loses-its-match"],
)
def test_a_change_of_a_managed_path_changes_the_digest(tree: Path, drift: Any) -> None:
    before = digest(tree)
    drift(tree)
    assert digest(tree) != before


def test_a_symlink_is_described_by_its_target(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    link = tmp_path / "env"
    link.symlink_to(tmp_path / "v1")
    first = rs.describe_path(str(link))
    assert first.startswith("link:") and first.endswith(":ok")
    link.unlink()
    link.symlink_to(tmp_path / "v2")
    assert rs.describe_path(str(link)) != first
    (tmp_path / "v2").rmdir()
    assert rs.describe_path(str(link)).endswith(":dangling")
    link.unlink()
    assert rs.describe_path(str(link)) == "missing"


def fake_dpkg(tmp: Path, packages: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A dpkg-query on PATH that prints the given lines (test double, written into the test's folder)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    listing = tmp / "dpkg-listing"
    listing.write_text("".join(p + "\n" for p in packages))
    script = bin_dir / "dpkg-query"
    script.write_text(f"#!/bin/sh\ncat {listing}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_the_package_digest_sees_a_removal_an_upgrade_and_a_hold(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["htop 3.2.2-2 install ok installed", "git 1:2.39.5-0 install ok installed"]
    fake_dpkg(tree, base, monkeypatch)
    before = digest(tree, dpkg=True)
    assert digest(tree) != before, "dpkg: false leaves the packages out"
    fake_dpkg(tree, list(reversed(base)), monkeypatch)
    assert digest(tree, dpkg=True) == before, "the order dpkg lists them in does not matter"
    for changed in (
        base[:1],
        ["htop 3.3.0-1 install ok installed", base[1]],
        ["htop 3.2.2-2 hold ok installed", base[1]],
    ):
        fake_dpkg(tree, changed, monkeypatch)
        assert digest(tree, dpkg=True) != before, changed


def roles(tmp: Path) -> list[dict[str, Any]]:
    beta = {
        "name": "beta",
        "fingerprint": "g1",
        "paths": [str(tmp / "unrelated")],
        "units": [],
        "dpkg": False,
        "boot": False,
    }
    return [spec_for(tmp), beta]


def test_probe_verdicts_and_the_cascade(tree: Path) -> None:
    state = tree / "state"
    state.mkdir()
    up, reasons, _ = rs.probe(roles(tree), str(state), [])
    assert up == {"alpha": False, "beta": False} and "no stamp" in reasons["alpha"]
    assert "earlier role runs (alpha)" in reasons["beta"]
    cache: dict[str, str] = {}
    for r in roles(tree):
        assert rs.write_stamp(str(state), r["name"], r["fingerprint"], rs.state_digest(r, cache))
        assert not rs.write_stamp(str(state), r["name"], r["fingerprint"], rs.state_digest(r, {})), (
            "unchanged"
        )
    assert oct((state / "alpha.json").stat().st_mode & 0o777) == "0o644"
    assert rs.probe(roles(tree), str(state), [])[0] == {"alpha": True, "beta": True}
    assert rs.probe(roles(tree), str(state), ["beta"])[0] == {"alpha": True, "beta": False}
    # A role the tags leave out does not run, so it does not make the roles after it run.
    alpha_changed = roles(tree)
    alpha_changed[0]["fingerprint"] = "f2"
    assert rs.probe(alpha_changed, str(state), [], ["beta"])[0] == {"alpha": False, "beta": True}
    assert rs.probe(alpha_changed, str(state), [], ["alpha", "beta"])[0] == {"alpha": False, "beta": False}
    # beta's own state changed: only beta runs.
    (tree / "unrelated").write_text("drift")
    up, reasons, _ = rs.probe(roles(tree), str(state), [])
    assert up == {"alpha": True, "beta": False} and "state it manages changed" in reasons["beta"]
    # alpha's inputs changed: alpha runs, and beta after it.
    changed = roles(tree)
    changed[0]["fingerprint"] = "f2"
    up, reasons, _ = rs.probe(changed, str(state), [])
    assert up == {"alpha": False, "beta": False} and "inputs changed" in reasons["alpha"]
    # A stamp that is not a stamp of this version counts as none.
    (state / "alpha.json").write_text("{not json")
    assert "no stamp" in rs.probe(roles(tree), str(state), [])[1]["alpha"]


def run_module(tmp: Path, args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    """The module as Ansible runs it on a host: its file with the arguments file, under this Python."""
    args_file = tmp / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True, env=env, timeout=60
    )
    return json.loads(done.stdout)


def test_the_module_never_writes_a_stamp_in_check_mode(tree: Path) -> None:
    state = tree / "state"
    checked = run_module(tree, {"mode": "stamp", "roles": roles(tree), "state_dir": str(state)}, check=True)
    assert checked["changed"] is False and not state.exists()
    stamped = run_module(tree, {"mode": "stamp", "roles": roles(tree), "state_dir": str(state)})
    assert stamped["changed"] is True and sorted(p.name for p in state.iterdir()) == [
        "alpha.json",
        "beta.json",
    ]
    probed = run_module(tree, {"mode": "probe", "roles": roles(tree), "state_dir": str(state)}, check=True)
    assert probed["up_to_date"] == {"alpha": True, "beta": True} and probed["changed"] is False


def test_the_module_refuses_a_role_name_that_is_not_a_plain_name(tree: Path) -> None:
    bad = roles(tree)
    bad[0]["name"] = "../../etc/passwd"
    out = run_module(tree, {"mode": "stamp", "roles": bad, "state_dir": str(tree / "state")})
    assert out.get("failed") and "name" in out["msg"] and not (tree / "state").exists()


# ---- the action plugin: input fingerprints, through ansible-playbook on this machine ----------------------

needs_ansible = pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not in this venv"
)

ROLE_FILES = {
    # alpha_seen is derived from something the role itself changes: left out of the inputs (`ignore`).
    "alpha/defaults/main.yml": 'alpha_level: 1\nalpha_conf: "{{ managed_dir }}/alpha.conf"\n'
    'alpha_seen: "{{ someone_elses_setting | default(0) }}"\n',
    "alpha/meta/argument_specs.yml": yaml.safe_dump(
        {
            "argument_specs": {
                "main": {"options": {"alpha_level": {"type": "int"}, "alpha_conf": {"type": "str"}}}
            }
        }
    ),
    "alpha/tasks/main.yml": "- name: Nothing\n  ansible.builtin.meta: noop\n",
    "beta/defaults/main.yml": "beta_mode: quiet\n",
    "beta/tasks/main.yml": "- name: Nothing\n  ansible.builtin.meta: noop\n",
}
SPEC = {
    "common": [],
    "roles": {"alpha": {"paths": ["{{ alpha_conf }}"], "ignore": ["alpha_seen"]}, "beta": {"paths": []}},
}
HOSTS = ["same", "option", "unrelated", "drift"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel, text in ROLE_FILES.items():
        path = tmp_path / "roles" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "role_state.yml").write_text(yaml.safe_dump(SPEC))
    for host in HOSTS:
        (tmp_path / host).mkdir()
        (tmp_path / host / "alpha.conf").write_text("level 1\n")
    write_inventory(tmp_path, {})
    play = [
        {
            "name": "Probe",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Probe",
                    "dlrig.rig.role_state": {
                        "roles": ["alpha", "beta"],
                        "roles_dir": str(tmp_path / "roles"),
                        "spec": str(tmp_path / "role_state.yml"),
                        "state_dir": "{{ managed_dir }}/state",
                        "force": "{{ dlrig_force | default(false) }}",
                    },
                    "register": "probe",
                },
                {
                    "name": "Stamp",
                    "dlrig.rig.role_state": {
                        "mode": "stamp",
                        "state_dir": "{{ managed_dir }}/state",
                        "stamp": "{{ probe.specs }}",
                    },
                    "when": "not ansible_check_mode",
                },
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    return tmp_path


def write_inventory(tmp: Path, overrides: dict[str, dict[str, Any]]) -> None:
    hosts = {
        h: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "managed_dir": str(tmp / h),
            **overrides.get(h, {}),
        }
        for h in HOSTS
    }
    (tmp / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))


def play(tmp: Path, *extra: str) -> dict[str, dict[str, Any]]:
    """{host: the probe's result} of one run (the json callback)."""
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
    }
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(tmp / "hosts.yml"), str(tmp / "play.yml"), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=300,
    )
    out = json.loads(done.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]


@needs_ansible
def test_inputs_and_drift_decide_which_roles_run(project: Path) -> None:
    first = play(project)
    assert all(not r["up_to_date"]["alpha"] and "no stamp" in r["reasons"]["alpha"] for r in first.values())
    assert play(project, "--check")["same"]["up_to_date"] == {"alpha": True, "beta": True}

    write_inventory(project, {"option": {"alpha_level": 2}, "unrelated": {"someone_elses_setting": 7}})
    (project / "drift" / "alpha.conf").write_text("edited by hand\n")
    second = play(project, "--check")
    assert second["same"]["up_to_date"] == {"alpha": True, "beta": True}
    assert second["unrelated"]["up_to_date"] == {"alpha": True, "beta": True}, "not an input"
    assert "inputs changed" in second["option"]["reasons"]["alpha"]
    assert "earlier role runs" in second["option"]["reasons"]["beta"]
    assert "state it manages changed" in second["drift"]["reasons"]["alpha"]
    # --check wrote no stamp: the same verdicts again.
    assert play(project, "--check")["option"]["up_to_date"]["alpha"] is False

    (project / "roles" / "beta" / "defaults" / "main.yml").write_text("beta_mode: loud\n")
    third = play(project, "--check", "--limit", "same")
    assert third["same"]["up_to_date"] == {"alpha": True, "beta": False}
    assert "inputs changed" in third["same"]["reasons"]["beta"]

    forced = play(project, "--check", "--limit", "unrelated", "-e", "dlrig_force=alpha")
    assert forced["unrelated"]["reasons"]["alpha"].startswith("forced")


@needs_ansible
def test_dlrig_force_naming_no_role_is_one_line(project: Path) -> None:
    out = play(project, "--check", "--limit", "same", "-e", "dlrig_force=gamma")
    result = out["same"]
    assert result["failed"] and "dlrig_force names no role" in result["msg"] and "\n" not in result["msg"]
