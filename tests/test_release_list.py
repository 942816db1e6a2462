"""One list of supported releases: dlrig/data/matrix.yml's ``os_releases``, read by the preflight (the
resolver refuses any other release, the README's support table lists them) and by every role that keeps
per-release data (the shared lookup dlrig.rig.release_vars in the role's tasks/release_vars.yml).

- a role's vars/ holds no data file that no listed release would load, and has data for every listed
  release when it keeps per-release data at all;
- every such role loads it through the shared lookup, and no role keeps a release list of its own;
- the lookup, run by Ansible, picks the file dlrig.stack.releases picks for every listed release and every
  role, and refuses a release outside the list with the preflight's own sentence.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlrig.errors import InputError
from dlrig.stack.matrix import OsSpec
from dlrig.stack.matrix_file import load_matrix
from dlrig.stack.releases import not_supported, release_files, role_vars_file, unnamed_release_files
from dlrig.stack.resolver import find_os

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
LOOKUP = "dlrig.rig.release_vars"
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())


def _text(role: str, *subs: str) -> str:
    """The YAML files of the role's ``subs`` folders, one text."""
    files = [f for sub in subs for f in sorted((ROOT / "roles" / role / sub).glob("*.yml"))]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


#: The roles that keep per-release data (files beside vars/main.yml).
DATA_ROLES = [r for r in ROLES if (ROOT / "roles" / r / "vars").is_dir()
              and release_files(ROOT / "roles" / r / "vars")]


def test_the_roles_with_per_release_data_are_the_four_known_ones():
    # A guard on the guard: the checks below must have roles to check.
    assert DATA_ROLES == ["base", "cuda", "nvidia_driver", "python_runtime"]


@pytest.mark.parametrize("role", DATA_ROLES)
def test_every_data_file_of_a_role_names_a_listed_release(role):
    assert unnamed_release_files(load_matrix(), ROOT / "roles" / role / "vars") == []


@pytest.mark.parametrize("role", DATA_ROLES)
def test_a_role_with_per_release_data_has_data_for_every_listed_release(role):
    missing = [o.label for o in load_matrix().os_releases
               if role_vars_file(ROOT / "roles" / role / "vars", o) is None]
    assert missing == [], f"roles/{role}/vars has no data for {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_release_data_is_loaded_through_the_shared_lookup_only(role):
    text = _text(role, "tasks", "handlers")
    uses_lookup = LOOKUP in text
    assert uses_lookup == (role in DATA_ROLES), (
        f"roles/{role}: per-release data must be loaded with {LOOKUP}, and only where there is some")
    # No list of its own, no lookup of its own.
    assert not re.search(r"_supported_releases\b", text + _text(role, "vars", "defaults")), role
    assert not re.search(r"first_found.*\n?.*ansible_distribution", text), role


def _spec(distribution: str, release: str) -> OsSpec:
    return OsSpec(distribution, release, "x", "2.0", "3.0", "x", "1.0", None, "test", False)


def test_a_file_no_listed_release_would_load_is_found(tmp_path):
    for name in ("main.yml", "Ubuntu.yml", "Ubuntu-22.yml", "Debian-12.yml", "Ubuntu-16.yml", "debian-12.yml",
                 "Ubuntu-22.04.yml", "Fedora.yml", "RedHat-9.yml"):
        (tmp_path / name).write_text("---\n")
    assert unnamed_release_files(load_matrix(), tmp_path) == [
        "Fedora.yml", "RedHat-9.yml", "Ubuntu-16.yml", "debian-12.yml"]


def test_the_most_specific_file_wins_and_a_missing_release_is_none(tmp_path):
    jammy = _spec("Ubuntu", "22.04")
    assert role_vars_file(tmp_path, jammy) is None
    for name in ("Ubuntu.yml", "Ubuntu-22.yml", "Ubuntu-22.04.yml"):
        (tmp_path / name).write_text("---\n")
        assert role_vars_file(tmp_path, jammy) == tmp_path / name
    assert role_vars_file(tmp_path, _spec("Debian", "12")) is None


# --- The lookup as Ansible runs it ----------------------------------------------------------------------

#: Hosts outside the list: (distribution, version as Ansible's facts say it).
UNSUPPORTED = {"xenial": ("Ubuntu", "16.04"), "cosmic": ("Ubuntu", "18.10"), "fedora": ("Fedora", "40")}


def _host(spec: OsSpec) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", spec.label)


@pytest.fixture(scope="module")
def lookup_run(tmp_path_factory) -> dict[str, dict[str, dict[str, object]]]:
    """One play: each role's lookup on one host per listed release (Debian as a point release, as
    Ansible reports it) and on the unsupported hosts. Role -> host -> the task's result."""
    work = tmp_path_factory.mktemp("releases")
    hosts: dict[str, dict[str, str]] = {}
    for spec in load_matrix().os_releases:
        version = spec.release + (".7" if spec.distribution == "Debian" else "")
        hosts[_host(spec)] = {"ansible_distribution": spec.distribution,
                              "ansible_distribution_version": version}
    for name, (distribution, version) in UNSUPPORTED.items():
        hosts[name] = {"ansible_distribution": distribution, "ansible_distribution_version": version}
    picked = "{{ lookup('" + LOOKUP + "', vars_dir) }}"
    tasks = [{"name": role, "ansible.builtin.set_fact": {"picked": picked},
              "vars": {"vars_dir": str(ROOT / "roles" / role / "vars")}, "ignore_errors": True}
             for role in DATA_ROLES]
    (work / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (work / "play.yml").write_text(yaml.safe_dump(
        [{"name": "releases", "hosts": "all", "gather_facts": False, "connection": "local", "tasks": tasks}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CALLBACKS_ENABLED": "",
           "ANSIBLE_CACHE_PLUGIN": "memory"}
    run = subprocess.run([str(PLAYBOOK), "-i", str(work / "inventory.yml"), str(work / "play.yml")],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert run.stdout.strip(), run.stderr[-3000:]
    doc = json.loads(run.stdout)
    return {t["task"]["name"]: t["hosts"] for t in doc["plays"][0]["tasks"]}


@pytest.mark.parametrize("role", DATA_ROLES)
def test_the_lookup_picks_the_data_file_of_every_listed_release(lookup_run, role):
    for spec in load_matrix().os_releases:
        result = lookup_run[role][_host(spec)]
        assert not result.get("failed"), result.get("msg")
        assert result["ansible_facts"]["picked"] == str(role_vars_file(ROOT / "roles" / role / "vars", spec))


@pytest.mark.parametrize("role", DATA_ROLES)
def test_the_lookup_refuses_a_release_outside_the_list_as_the_preflight_does(lookup_run, role):
    m = load_matrix()
    for host, (distribution, version) in UNSUPPORTED.items():
        result = lookup_run[role][host]
        assert result.get("failed"), f"{role} accepted {distribution} {version}"
        sentence = not_supported(m, distribution, version)
        assert result["msg"] == f"{host}: {sentence}"
        assert "\n" not in str(result["msg"]) and "Traceback" not in str(result["msg"])
        # The preflight's refusal of the same declared release is the same sentence, the same list.
        with pytest.raises(InputError) as refused:
            find_os(m, distribution, version, host)
        assert sentence in str(refused.value)
    assert ", ".join(o.label for o in m.os_releases) in sentence
