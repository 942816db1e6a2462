"""roles/nvidia_driver: the GPU power limits reach a host as data (a JSON file, or one quoted JSON argument)
that one static script reads (files/dlrig-gpu-power-limits); no inventory string is ever code there.

The data file and the --plan command line are rendered by Ansible from the role's own tasks and vars with
hostile model names, and the script runs against an nvidia-smi test double (tests/fixtures/bin): nothing
in a model name runs, and each limit goes to the GPU of exactly that model, matched as the preflight
matches models (dlrig.plan.catalogue.normalise).
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from dlrig.plan import catalogue

ROOT = Path(__file__).resolve().parents[1]
ROLE = ROOT / "roles" / "nvidia_driver"
SCRIPT = ROLE / "files" / "dlrig-gpu-power-limits"
FAKE_BIN = ROOT / "tests" / "fixtures" / "bin"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def load_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("dlrig_gpu_power_limits", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def hostile(mark: Path) -> list[str]:
    """Model names an inventory author could write to run code on the host (each would create ``mark``)."""
    return [
        f"Evil $(touch {mark})",
        f"Evil `touch {mark}`",
        f'Evil "; touch {mark}; echo "',
        f"Evil '; touch {mark}; echo '",
        f"Evil\ntouch {mark}\n",
        f"Evil *) touch {mark} ;; x",
        "Evil $HOME ${PATH} \\ \\n \\\\",
        f"Evil \"$(touch {mark})\" '$(touch {mark})'",
    ]


def role_task(name: str) -> dict[str, Any]:
    """The task called ``name`` in roles/nvidia_driver/tasks/power_limits.yml (blocks searched)."""
    tasks = yaml.safe_load((ROLE / "tasks" / "power_limits.yml").read_text())
    for task in tasks:
        for inner in [task, *task.get("block", [])]:
            if inner.get("name") == name:
                return dict(inner)
    raise AssertionError(f"no task {name!r} in power_limits.yml")


def render(tmp_path: Path, gpus: list[dict[str, Any]]) -> tuple[Path, str]:
    """The data file the role writes and the arguments of its --plan call, for ``hardware.gpus: gpus``."""
    data = tmp_path / "gpu-power-limits.json"
    args = tmp_path / "plan-args"
    copy = role_task("Write the power limits the script applies (data, not code)")["ansible.builtin.copy"]
    script = role_task("Read each GPU's name and current power limits, and match them with the inventory's")
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_vars": str(ROLE / "defaults" / "main.yml")},
        {"ansible.builtin.include_vars": str(ROLE / "vars" / "main.yml")},
        {"ansible.builtin.copy": {"content": copy["content"], "dest": str(data), "mode": "0644"}},
        {"ansible.builtin.copy": {"content": script["ansible.builtin.script"]["cmd"], "dest": str(args),
                                  "mode": "0644"}},
    ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.json").write_text(json.dumps({"hardware": {"gpus": gpus}}))
    command = [str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
               "-e", f"@{tmp_path / 'vars.json'}", "-e", f"ansible_python_interpreter={sys.executable}"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cmd = args.read_text()
    name, _, rest = cmd.partition(" ")
    assert name == "dlrig-gpu-power-limits"
    return data, rest


def fake_env(tmp_path: Path, gpus: list[list[Any]]) -> dict[str, str]:
    (tmp_path / "gpus.json").write_text(json.dumps(gpus))
    return {**os.environ, "PATH": f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}",
            "FAKE_NVIDIA_GPUS": str(tmp_path / "gpus.json"), "FAKE_NVIDIA_CALLS": str(tmp_path / "calls.log")}


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, list[str]]:
    tmp = tmp_path_factory.mktemp("power")
    mark = tmp / "pwned"
    evil = hostile(mark)
    gpus = [
        # First-hit substring matching gave the SUPER card the RTX 2070's 150 W.
        {"model": "GeForce RTX 2070", "count": 1, "power_limit_w": 150},
        {"model": "RTX 2070 SUPER", "count": 1, "power_limit_w": 200},
        {"model": "NVIDIA GeForce RTX 3090 Ti", "count": 1, "power_limit_w": 320},
        {"model": "GeForce RTX 4090", "count": 1},                  # no limit asked
        *({"model": model, "count": 1, "power_limit_w": 100 + n} for n, model in enumerate(evil)),
    ]
    data, args = render(tmp, gpus)
    return tmp, data, args, evil


DETECTED = [
    [0, "NVIDIA GeForce RTX 2070 SUPER", "215.00", "125.00", "240.00"],
    [1, "NVIDIA GeForce RTX 4090", "450.00", "150.00", "600.00"],
    [2, "NVIDIA GeForce RTX 2070", "175.00", "125.00", "200.00"],
    [3, "NVIDIA GeForce RTX 3090 Ti", "450.00", "100.00", "450.00"],
    [4, "NVIDIA GeForce RTX 3090", "350.00", "100.00", "400.00"],
]


Rendered = tuple[Path, Path, str, list[str]]


def test_the_data_file_holds_every_hostile_model_verbatim(rendered: Rendered) -> None:
    _, data, _, evil = rendered
    limits = json.loads(data.read_text())["limits"]
    assert [entry["model"] for entry in limits][3:] == evil
    assert [entry["power_limit_w"] for entry in limits][:3] == [150, 200, 320]


def test_the_boot_script_runs_nothing_and_sets_each_limit_on_the_right_gpu(
    rendered: tuple[Path, Path, str, list[str]], tmp_path: Path
) -> None:
    tmp, data, _, evil = rendered
    run = subprocess.run([str(SCRIPT), "--limits", str(data)], env=fake_env(tmp_path, DETECTED),
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not (tmp / "pwned").exists()
    assert [c for c in calls(tmp_path) if "-pl" in c] == [
        ["-i", "0", "-pl", "200"], ["-i", "2", "-pl", "150"], ["-i", "3", "-pl", "320"]]
    # Each declaration that matched no GPU is named on one line of stderr, control characters escaped.
    lines = run.stderr.splitlines()
    assert len(lines) == len(evil)
    assert all(line.startswith("dlrig-gpu-power-limits: the inventory declares ") for line in lines)
    assert all("no GPU nvidia-smi reports is that model" in line for line in lines)
    assert json.dumps(evil[4]) in run.stderr


def test_the_plan_command_line_runs_nothing_and_matches_the_same_way(
    rendered: tuple[Path, Path, str, list[str]], tmp_path: Path
) -> None:
    # ansible.builtin.script runs "<executable> <script> <args>" through a shell: the role's args exactly.
    tmp, _, args, evil = rendered
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} {args}"
    run = subprocess.run(["/bin/sh", "-c", command], env=fake_env(tmp_path, DETECTED),
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not (tmp / "pwned").exists()
    assert [c for c in calls(tmp_path) if "-pl" in c] == []      # --plan sets nothing
    plan = json.loads(run.stdout)
    assert [(g["index"], g["target"], g["current"], g["min"], g["max"]) for g in plan["gpus"]] == [
        ("0", 200, 215.0, 125.0, 240.0), ("2", 150, 175.0, 125.0, 200.0), ("3", 320, 450.0, 100.0, 450.0)]
    assert [u["model"] for u in plan["unmatched"]] == evil
    assert plan["detected"] == [gpu[1] for gpu in DETECTED]


def test_a_gpu_whose_name_is_hostile_is_matched_as_data(tmp_path: Path) -> None:
    mark = tmp_path / "pwned"
    name = f"Evil $(touch {mark}) `touch {mark}`"
    (tmp_path / "limits.json").write_text(json.dumps({"limits": [{"model": name, "power_limit_w": 111}]}))
    run = subprocess.run([str(SCRIPT), "--limits", str(tmp_path / "limits.json")],
                         env=fake_env(tmp_path, [[7, name, "200.00", "100.00", "300.00"]]),
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""
    assert not mark.exists()
    assert [c for c in calls(tmp_path) if "-pl" in c] == [["-i", "7", "-pl", "111"]]


@pytest.mark.parametrize("data", [
    "not json", "[]", '{"limits": {}}', '{"limits": [{"model": "RTX 2070"}]}',
    '{"limits": [{"model": "", "power_limit_w": 100}]}', '{"limits": [{"model": 7, "power_limit_w": 100}]}',
    '{"limits": [{"model": "RTX 2070", "power_limit_w": true}]}',
    '{"limits": [{"model": "RTX 2070", "power_limit_w": "100; reboot"}]}',
    '{"limits": [{"model": "RTX 2070", "power_limit_w": 1e400}]}',
])
def test_data_that_is_not_limits_is_refused_in_one_line_and_sets_nothing(tmp_path: Path, data: str) -> None:
    (tmp_path / "limits.json").write_text(data)
    run = subprocess.run([str(SCRIPT), "--limits", str(tmp_path / "limits.json")],
                         env=fake_env(tmp_path, DETECTED), capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("dlrig-gpu-power-limits: ")
    assert calls(tmp_path) == []


def test_one_card_declared_twice_with_two_limits_gets_none_and_is_reported(tmp_path: Path) -> None:
    limits = [{"model": "RTX 2070", "power_limit_w": 150}, {"model": "NVIDIA GeForce RTX 2070",
                                                            "power_limit_w": 160}]
    (tmp_path / "limits.json").write_text(json.dumps({"limits": limits}))
    run = subprocess.run([str(SCRIPT), "--limits", str(tmp_path / "limits.json")],
                         env=fake_env(tmp_path, DETECTED), capture_output=True, text=True, check=False)
    assert run.returncode == 0
    assert [c for c in calls(tmp_path) if "-pl" in c] == []
    assert "is declared with 160 W and as \"RTX 2070\" with 150 W" in run.stderr


def test_a_failed_nvidia_smi_call_fails_the_boot_unit(tmp_path: Path) -> None:
    limits = {"limits": [{"model": "RTX 2070", "power_limit_w": 150}]}
    (tmp_path / "limits.json").write_text(json.dumps(limits))
    run = subprocess.run([str(SCRIPT), "--limits", str(tmp_path / "limits.json")],
                         env=fake_env(tmp_path, [["x", "NVIDIA GeForce RTX 2070", "1", "1", "1"],
                                                 [9, "NVIDIA GeForce RTX 2070", "[N/A]", "[N/A]", "[N/A]"]]),
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and calls(tmp_path)[1:] == []     # no index, no current limit: left alone
    env = fake_env(tmp_path, [[5, "NVIDIA GeForce RTX 2070", "175.00", "125.00", "200.00"]])
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    failing = tmp_path / "nvidia-smi"
    double = FAKE_BIN / "nvidia-smi"
    failing.write_text(f'#!/bin/sh\ncase "$1" in -i) exit 3;; esac\nexec {double} "$@"\n')
    failing.chmod(0o755)
    run = subprocess.run([str(SCRIPT), "--limits", str(tmp_path / "limits.json")], env=env,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "nvidia-smi -i 5 -pl 150 failed for GPU 5" in run.stderr


def test_the_script_matches_models_as_the_preflight_does() -> None:
    script = load_script()
    assert script._NOISE.pattern == catalogue._NOISE.pattern
    names = [g.name for g in catalogue.load().gpus] + [
        "NVIDIA GeForce RTX 2070 SUPER", "GeForce RTX 3090 Ti", "Tesla V100-SXM2-16GB", "NVIDIA RTX A4000",
        "rtx_4090", "  GeForce   RTX-3080  ", "Quadro RTX 8000", "NVIDIA H100 80GB HBM3"]
    for name in names:
        assert script.normalise(name) == catalogue.normalise(name), name
    assert script.normalise("RTX 2070 SUPER") != script.normalise("RTX 2070")
    assert script.normalise("RTX 3090 Ti") != script.normalise("RTX 3090")


def test_the_script_runs_under_python_3_6() -> None:
    # The target's system python: Ubuntu 18.04 has 3.6 (no dataclasses, no `from __future__ import
    # annotations`, no capture_output or text= in subprocess).
    source = SCRIPT.read_text()
    ast.parse(source, feature_version=(3, 6))
    for newer in ("from __future__ import annotations", "dataclasses", "capture_output", "text=True", ":="):
        assert newer not in source, newer
    assert source.startswith("#!/usr/bin/python3\n")
    assert os.access(SCRIPT, os.X_OK)


def test_no_role_writes_a_shell_script_from_an_unchecked_template() -> None:
    # Inventory values reach a host as data: a role's shell script is a static file. The one exception, the
    # cuda role's /etc/profile.d script, only holds values its assert has checked (the next test).
    templated = [p.relative_to(ROOT).as_posix() for p in (ROOT / "roles").glob("*/templates/*.sh.j2")]
    assert templated == ["roles/cuda/templates/dlrig-cuda.sh.j2"]


def test_the_cuda_profile_script_takes_only_a_plain_install_prefix(tmp_path: Path) -> None:
    tasks = yaml.safe_load((ROOT / "roles" / "cuda" / "tasks" / "release_vars.yml").read_text())
    check = next(t for t in tasks if "ansible.builtin.assert" in t)  # after the release's data is loaded
    that = next(c for c in check["ansible.builtin.assert"]["that"] if "cuda_install_prefix" in c)
    prefixes = ["/usr/local", "/opt/cuda-1.2_x+y", "/usr/$(id)", "/usr/`id`", "/a b", "/a\\b", "relative",
                '/a"b', "/a;b", "/a\nb"]
    out = tmp_path / "out.json"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.set_fact": {"ok": "{{ ok | default([]) + [(" + that + ")] }}"},
         "vars": {"cuda_install_prefix": "{{ item }}"}, "loop": prefixes},
        {"ansible.builtin.copy": {"content": "{{ ok | to_json }}", "dest": str(out), "mode": "0644"}},
    ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                    "-e", f"ansible_python_interpreter={sys.executable}"],
                   check=True, capture_output=True, cwd=ROOT)
    assert json.loads(out.read_text()) == [True, True] + [False] * (len(prefixes) - 2)
