"""`bin/dlrig init` (dlrig.init): detection fixtures -> declaration -> the preflight (docs/init.md)."""

from __future__ import annotations

import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import run_cli
from hwfixtures import FIXTURES, PROJECT
from yamllint import config as yamllint_config
from yamllint import linter

from dlrig.errors import InputError
from dlrig.init import cli, compare, declare, hosts_file, probe, remote
from dlrig.plan import placeholders
from dlrig.plan.parse import parse_host

CASES = ("rtx2070", "two-gpus", "no-gpu", "unknown-gpu")
ORIGINS = "detected|catalogue|default|placeholder|answered|declared"
# What a user fills in for each placeholder (by the variable's last name).
FILLED = {"gpu_slots": [16, 16, 8, 8], "watts": 1000, "efficiency": "gold", "price_per_kwh": 0.3,
          "pcie_lanes": 24, "vram_gb": 8, "gb": 16, "model": "Some CPU", "arch": "Turing"}


def fixture_args(case: str, nvidia_smi: bool = True) -> list[str]:
    tree = FIXTURES / case
    smi = str(tree / "bin" / "nvidia-smi") if nvidia_smi else "no-such-nvidia-smi"
    return ["--sysfs-root", str(tree / "root"), "--nvidia-smi", smi, "--lspci", str(tree / "bin" / "lspci")]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A copy of the project's inventory (hosts.yml and the reference build's host_vars)."""
    target = tmp_path / "inventory"
    shutil.copytree(PROJECT / "inventory", target)
    return target


def init(*argv: str, stdin: Any = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=stdin or io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def fill(value: Any, key: str = "") -> Any:
    """The declaration with every placeholder replaced by a plausible figure."""
    if placeholders.is_placeholder(value):
        return FILLED[key]
    if isinstance(value, dict):
        return {k: fill(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, key) for v in value]
    return value


@pytest.mark.parametrize("case", CASES)
def test_written_declaration_passes_the_preflight_but_for_placeholders(case: str, inventory: Path) -> None:
    code, out, err = init("--host", "box", "--no-input", "-i", str(inventory), *fixture_args(case))
    assert (code, err) == (0, ""), out
    path = inventory / "host_vars" / "box.yml"
    text = path.read_text()
    # Every figure carries its provenance comment.
    for line in text.splitlines():
        if re.match(r"^\s*(- )?\w+: \S", line):
            assert re.search(rf"  # ({ORIGINS})\b", line), line
    lint = yamllint_config.YamlLintConfig(file=str(PROJECT / ".yamllint"))
    assert [str(p) for p in linter.run(text, lint)] == []
    data = yaml.safe_load(text)
    assert "box" in hosts_file.hosts_in(yaml.safe_load((inventory / "hosts.yml").read_text()))
    found = list(placeholders.find(data, ""))
    assert {p for p, _ in found} >= {"hardware.psu.watts", "hardware.psu.efficiency",
                                     "hardware.motherboard.gpu_slots", "power.price_per_kwh"}
    # The preflight refuses the host on one line naming the first placeholder and the others.
    code, out, err = run_cli(["-i", str(inventory), "--limit", "box"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"preflight: box: {found[0][0]}: placeholder left by `dlrig init`: fill in ")
    assert f"{len(found) - 1} more placeholder(s)" in err
    # Filled in, the same file is a valid declaration: the checks run (no bad input).
    path.write_text(yaml.safe_dump(fill(data)))
    code, out, err = run_cli(["-i", str(inventory), "--limit", "box", "--format", "json"])
    assert code in (0, 1) and err == "", err
    checks = {c["id"]: c for c in json.loads(out)["hosts"][0]["checks"]}
    # An unknown card gets an arch placeholder too: filled in, its stack resolves.
    assert checks["stack"]["status"] != "fail", checks["stack"]["message"]
    plan = parse_host("box", fill(data))
    detected = {"rtx2070": 1, "two-gpus": 2, "no-gpu": 0, "unknown-gpu": 1}[case]
    assert plan.hardware is not None and plan.hardware.gpu_count == detected


def test_figures_come_from_detection_and_the_catalogue() -> None:
    tree = declare.declaration(probe.local(*fixture_args("two-gpus")[1::2]))
    gpu = tree["hardware"]["gpus"][0]
    assert (gpu["model"].value, gpu["count"].value) == ("GeForce RTX 2070", 2)
    origins = (gpu["count"].origin, gpu["watts"].origin, gpu["vram_gb"].origin)
    assert origins == ("detected", "catalogue", "catalogue")
    cpu = tree["hardware"]["cpu"]
    assert (cpu["watts"].value, cpu["pcie_lanes"].value, cpu["watts"].origin) == (180, 64, "catalogue")
    assert tree["hardware"]["memory"]["gb"].origin == "detected"
    assert tree["hardware"]["psu"]["watts"].origin == "placeholder"


def test_unknown_gpu_figures_come_from_nvidia_smi_else_placeholders() -> None:
    unknown = declare.declaration(probe.local(*fixture_args("unknown-gpu")[1::2]))
    gpu = unknown["hardware"]["gpus"][0]
    assert gpu["model"].value == "Quadro RTX 4000"
    assert (gpu["watts"].value, gpu["watts"].origin, gpu["vram_gb"].value) == (125, "detected", 8.0)
    assert gpu["arch"].origin == "placeholder" and "architecture" in gpu["arch"].value
    # The unknown-gpu tree also has a release, a board and drives.
    assert unknown["os"]["release"].value == "22.04"
    drives = [(d["interface"].value, d["watts"].value) for d in unknown["hardware"]["storage"]]
    assert drives == [("nvme", 10), ("sata", 20)]
    no_driver = declare.declaration(probe.local(*fixture_args("unknown-gpu", nvidia_smi=False)[1::2]))
    gpu = no_driver["hardware"]["gpus"][0]
    assert gpu["model"].value == "NVIDIA 10de:1eb1"
    assert gpu["watts"].origin == gpu["vram_gb"].origin == "placeholder"


def test_a_declared_value_never_reaches_the_terminal_raw(inventory: Path) -> None:
    """The difference shows the existing declaration's values: a person's text, escaped (issue 10)."""
    base = ("--host", "box", "--no-input", "-i", str(inventory))
    assert init(*base, *fixture_args("rtx2070"))[0] == 0
    path = inventory / "host_vars" / "box.yml"
    data = yaml.safe_load(path.read_text())
    data["hardware"]["cpu"]["model"] = "Evil\x1b[2J\nbox  OK"
    path.write_text(yaml.safe_dump(data))
    code, out, err = init(*base, *fixture_args("rtx2070"))
    assert code == 1 and "hardware.cpu.model" in out, out + err
    assert "\x1b" not in out + err and "\nbox  OK" not in out + err


def test_a_second_init_changes_nothing(inventory: Path) -> None:
    args = ("--host", "box", "--no-input", "-i", str(inventory), *fixture_args("rtx2070"))
    assert init(*args)[0] == 0
    path = inventory / "host_vars" / "box.yml"
    before = path.read_bytes()
    code, out, _ = init(*args)
    assert code == 0 and "nothing written" in out
    assert path.read_bytes() == before


def test_existing_declaration_shows_the_difference_and_update_writes_it(inventory: Path) -> None:
    """The GPU-upgrade flow: one RTX 2070 declared (and the PSU filled in), two detected."""
    base = ("--host", "box", "--no-input", "-i", str(inventory))
    assert init(*base, *fixture_args("rtx2070"))[0] == 0
    path = inventory / "host_vars" / "box.yml"
    filled = fill(yaml.safe_load(path.read_text()))
    filled["stack"] = {"cuda": "11.8"}
    path.write_text(yaml.safe_dump(filled))
    before = path.read_bytes()
    code, out, _ = init(*base, *fixture_args("two-gpus"))
    assert code == 1 and path.read_bytes() == before
    assert "hardware.gpus[0].count: declared 1, detected 2" in out
    assert "--update" in out
    code, out, _ = init(*base, "--update", *fixture_args("two-gpus"))
    assert code == 0
    data = yaml.safe_load(path.read_text())
    assert data["hardware"]["gpus"][0]["count"] == 2
    assert data["hardware"]["psu"] == {"watts": 1000, "efficiency": "gold"}  # what the user filled in
    assert data["stack"] == {"cuda": "11.8"}
    assert "# declared: kept from the previous file" in path.read_text()
    assert init(*base, *fixture_args("two-gpus"))[0] == 0  # now up to date


def test_merge_takes_a_new_model_whole() -> None:
    new = {"gpus": [{"model": declare.Figure("GeForce RTX 2080", "detected"),
                     "watts": declare.Figure(225, "catalogue")}]}
    old = {"gpus": [{"model": "GeForce RTX 2070", "watts": 185, "power_limit_w": 150}]}
    merged = compare.merge_declaration(new, old)
    assert declare.plain(merged) == {"gpus": [{"model": "GeForce RTX 2080", "watts": 225}]}
    same = {"gpus": [{"model": "RTX 2070", "watts": 200, "power_limit_w": 150}]}
    new["gpus"][0]["model"] = declare.Figure("GeForce RTX 2070", "detected")
    assert declare.plain(compare.merge_declaration(new, same))["gpus"][0] == {
        "model": "GeForce RTX 2070", "watts": 200, "power_limit_w": 150}


def test_placeholder_refusal_names_host_variable_and_what_to_fill_in() -> None:
    hostvars = {"hardware": {"psu": {"watts": placeholders.make("the PSU rated output in W")}}}
    with pytest.raises(InputError) as exc:
        parse_host("box", hostvars)
    assert str(exc.value) == ("box: hardware.psu.watts: placeholder left by `dlrig init`: fill in the PSU "
                              "rated output in W")


def test_output_path_leaves_the_inventory_alone(inventory: Path, tmp_path: Path) -> None:
    hosts = (inventory / "hosts.yml").read_text()
    target = tmp_path / "x.yml"
    code, _, _ = init("--host", "box", "--no-input", "-i", str(inventory), "--output", str(target),
                        *fixture_args("no-gpu"))
    assert code == 0 and target.exists()
    assert (inventory / "hosts.yml").read_text() == hosts


def test_hosts_file_keeps_comments_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    shutil.copy(PROJECT / "inventory" / "hosts.yml", path)
    original = path.read_text()
    assert hosts_file.add_host(path, "box", "10.0.0.7")
    text = path.read_text()
    assert text.startswith(original.rstrip("\n"))  # appended after the last host, comments untouched
    data = yaml.safe_load(text)
    assert data["all"]["children"]["workstations"]["hosts"]["box"] == {"ansible_host": "10.0.0.7"}
    assert not hosts_file.add_host(path, "box", "10.0.0.7")
    assert not hosts_file.add_host(path, "deep-al", None)


@pytest.mark.parametrize("argv,where", [
    (["--connection", "telnet", "x"], "--connection: expected `local` or `ssh ADDRESS`"),
    (["--connection", "ssh"], "--connection: expected `local` or `ssh ADDRESS`"),
    (["--host", "bad name"], "bad name: --host: expected an inventory name"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], where: str, inventory: Path) -> None:
    code, out, err = init(*argv, "-i", str(inventory), "--no-input", *fixture_args("no-gpu"))
    assert code == 2 and out == ""
    assert err.startswith("init: ") and where in err and err.count("\n") == 1


def test_ssh_command_lines() -> None:
    detect, setup = remote.commands("alice@box.lan", ["/t/1", "/t/2"])
    assert detect == ["ansible", "box.lan", "-i", "box.lan,", "-c", "ssh", "-u", "alice",
                      "-m", "dlrig.rig.hardware_facts", "--tree", "/t/1"]
    assert setup[-5:] == ["ansible.builtin.setup", "-a", remote.SETUP_ARGS, "--tree", "/t/2"]


def test_detection_over_ansible_matches_local_detection() -> None:
    """The ssh path's own commands, run against localhost with connection=local and a fixture tree."""
    tree = FIXTURES / "two-gpus"
    args = {"sysfs_root": str(tree / "root"), "nvidia_smi": str(tree / "bin" / "nvidia-smi"),
            "lspci": str(tree / "bin" / "lspci")}
    found = remote.probe("localhost", connection="local", module_args=args,
                         extra=["-e", f"ansible_python_interpreter={sys.executable}"])
    local = probe.local(args["sysfs_root"], args["nvidia_smi"], args["lspci"])
    assert declare.plain(declare.declaration(found))["hardware"]["gpus"] == \
        declare.plain(declare.declaration(local))["hardware"]["gpus"]
    assert found.os is not None  # from ansible.builtin.setup's distribution facts


def test_unreachable_host_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        remote.probe("nobody@127.0.0.1", extra=["-e", "ansible_port=1", "-T", "2"])
    assert str(exc.value).startswith("nobody@127.0.0.1: --connection: ")


def _expect(fd: int, text: str, seen: list[str], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while text not in "".join(seen):
        assert time.monotonic() < end, f"no {text!r} in {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break


def test_questions_on_a_terminal(inventory: Path) -> None:
    """A pseudo-terminal drives the questions: a wrong answer is explained, Enter leaves a placeholder."""
    master, slave = os.openpty()
    child = subprocess.Popen([sys.executable, str(PROJECT / "scripts" / "init.py"), "--host", "box",
                              "-i", str(inventory), *fixture_args("rtx2070")],
                             stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                             env={**os.environ, "PYTHONPATH": str(PROJECT)})
    os.close(slave)
    seen: list[str] = []
    try:
        steps = [("hardware.motherboard.gpu_slots", "12"), ("expected slot widths", "16, 8"),
                 ("W or more keeps 10 % free", None),  # the PSU suggestion from the parts' watts
                 ("hardware.psu.watts", "850"), ("hardware.psu.efficiency", "80 PLUS Gold"),
                 ("power.price_per_kwh", "")]
        for prompt, answer in steps:
            _expect(master, prompt, seen)
            if answer is None:
                continue
            seen.append("\n")  # the next prompt is looked for after this point
            marker = len("".join(seen))
            os.write(master, f"{answer}\r".encode())
            seen[:] = ["".join(seen)[marker:]]
        assert child.wait(timeout=60) == 0
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
    data = yaml.safe_load((inventory / "host_vars" / "box.yml").read_text())
    assert data["hardware"]["motherboard"]["gpu_slots"] == [16, 8]
    assert data["hardware"]["psu"] == {"watts": 850, "efficiency": "gold"}
    assert placeholders.is_placeholder(data["power"]["price_per_kwh"])
    assert "# answered: given at `dlrig init`" in (inventory / "host_vars" / "box.yml").read_text()
