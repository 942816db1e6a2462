"""Executable documentation (issue 19): every shell command of README.md, docs/*.md and roles/*/README.md
runs here as the docs show it, and its output is compared where the docs show output.

The commands are read from the docs at test time (tests/doccommands.py says how blocks, prompts,
``...`` and ``(exit N)`` are read). How each runs:

- ``scripts/preflight.py ARGS`` and ``bin/dlrig preflight ARGS``: in-process (dlrig.cli.main, as
  tests/clirun.py), from the repository root, against the shipped inventory; each one without ``-i``
  runs a second time against a test inventory (the host template and a host without GPUs), where it
  must produce a report (exit 0 or 1), not bad input;
- any other ``bin/dlrig SUB ARGS`` (``ansible``, ``playbook``): the real script, with ``DLRIG_VENV`` set
  to a stand-in of the running controller environment whose stamps are current, so that it installs
  nothing (a new user's first run creates .venv; tests/test_bin_dlrig_runs_ansible.py checks that step);
- anything else: ``bash -c`` from the repository root. A bare ``ansible``/``ansible-playbook`` fails:
  a new user has no such command before activating the venv.

Expected exit code: the ``(exit N)`` the docs show, else 0; a preflight command shown without output may
also exit 1 (its verdict for the machine it runs on, e.g. ``--live``). Paths the docs use for an
inventory built elsewhere (``.../liveinv/hosts.yml``) are replaced by one this test builds the same
way from the detection fixtures. Output is compared line by line after stripping trailing blanks; an
unreachable host's SSH error is the local ssh client's own text and is masked on both sides.

A block the docs mark ``<!-- doc-test: skip — REASON -->`` (or a command with a PREFIX in the marker) is
not run; the list with the reasons is printed in the test output whatever pytest's ``-r`` options.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from doccommands import Command, doc_commands, matches

from dlrig.cli import main as preflight_main

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "tests" / "fixtures" / "hw"
VENV_BIN = Path(sys.executable).parent
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
TEMPLATE = ROOT / "inventory" / "host_vars" / "EXAMPLE.yml.sample"

COMMANDS = doc_commands()
RUN = [c for c in COMMANDS if c.skip is None]
SKIPPED = [c for c in COMMANDS if c.skip is not None]
PREFLIGHT = ("scripts/preflight.py", "bin/dlrig preflight")
_UNREACHABLE = re.compile(r"(could not detect the hardware: unreachable: ).*")


# --- inventories -------------------------------------------------------------------------------------

def _fixture_host(case: str, **hardware: Any) -> dict[str, Any]:
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "live_preflight_sysfs_root": str(HW / case / "root"),
            "live_preflight_nvidia_smi": str(HW / case / "bin" / "nvidia-smi"),
            "live_preflight_lspci": str(HW / case / "bin" / "lspci"),
            "hardware": {**copy.deepcopy(REFERENCE["hardware"]), **hardware}}


def _live_inventory(directory: Path) -> Path:
    """docs/upgrade.md's ``.../liveinv/hosts.yml``: the reference box after its second RTX 2070, a card
    on an x4 riser, a card that fell off the bus (fixtures of tests/fixtures/hw) and a host that is down."""
    upgraded = {"gpus": [{"model": "GeForce RTX 2070", "count": 2, "watts": 185, "vram_gb": 8}],
                "memory": {"gb": 32, "watts": 11}}
    hosts = {
        "deep-al": _fixture_host("two-gpus", **upgraded),
        "gone": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh",
                 "ansible_ssh_common_args": "-o BatchMode=yes -o StrictHostKeyChecking=no",
                 "hardware": copy.deepcopy(REFERENCE["hardware"])},
        "lost-card": _fixture_host("fell-off-bus", **upgraded),
        "riser-box": _fixture_host("x4-riser"),
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return path


def _test_inventory(directory: Path) -> Path:
    """A second inventory for every preflight command: the host template and a CI box without GPUs."""
    directory.mkdir(parents=True, exist_ok=True)
    hosts = {"example": {"ansible_connection": "local", **yaml.safe_load(TEMPLATE.read_text())},
             "ci-box": {"ansible_connection": "local", "os": {"distribution": "Debian", "release": "12"},
                        "hardware": {"gpus": [], "memory": {"gb": 8, "watts": 6}}}}
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return path


@pytest.fixture(scope="module")
def inventories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("doc-inventories")
    return {"liveinv/hosts.yml": _live_inventory(base / "liveinv"), "test": _test_inventory(base / "test")}


# --- running -----------------------------------------------------------------------------------------

class Ran:
    def __init__(self, code: int, out: str, err: str, seconds: float) -> None:
        self.code, self.out, self.err, self.seconds = code, out, err, seconds


def _preflight(argv: list[str]) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = preflight_main(argv, stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return Ran(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def _shell(text: str, **extra: str) -> Ran:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(Path(tempfile.gettempdir()) / "dlrig-doc-test-ansible"), **extra}
    start = time.perf_counter()
    done = subprocess.run(["bash", "-c", text], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)
    return Ran(done.returncode, done.stdout, done.stderr, time.perf_counter() - start)


def _preflight_args(cmd: Command, inventories: dict[str, Path]) -> list[str] | None:
    for prefix in PREFLIGHT:
        if cmd.text == prefix or cmd.text.startswith(prefix + " "):
            return [_inventory_arg(a, inventories) for a in shlex.split(cmd.text[len(prefix):])]
    return None


def _inventory_arg(arg: str, inventories: dict[str, Path]) -> str:
    """An inventory the docs name by a path built elsewhere (``.../liveinv/hosts.yml``) -> this test's."""
    for tail, path in inventories.items():
        if arg == tail or arg.endswith("/" + tail):
            return str(path)
    return arg


def stand_in_venv(directory: Path) -> Path:
    """A venv for bin/dlrig (DLRIG_VENV) that is the running controller environment: its bin/ links to
    this one's tools, its python execs this one's, and its stamps match the requirement files, so
    ensure_venv finds nothing to install."""
    (directory / "bin").mkdir(parents=True)
    for tool in VENV_BIN.iterdir():
        if tool.name.startswith("python"):   # a link would not find the venv: exec the real interpreter
            shim = directory / "bin" / tool.name
            shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
            shim.chmod(0o755)
        elif not tool.name.startswith("activate"):
            (directory / "bin" / tool.name).symlink_to(tool)
    if not (directory / "bin" / "python").exists():
        (directory / "bin" / "python").write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
        (directory / "bin" / "python").chmod(0o755)
    files = [*sorted(ROOT.glob("requirements-*.txt")), ROOT / "pyproject.toml"]
    stamp = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    for requirements in sorted(ROOT.glob("requirements-*.txt")):
        (directory / f".dlrig-stamp-{requirements.name}").write_text(stamp + "\n")
    return directory


@pytest.fixture(scope="module")
def dlrig_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stand_in_venv(tmp_path_factory.mktemp("dlrig-venv") / "venv")


def run_command(cmd: Command, inventories: dict[str, Path], venv: Path) -> Ran:
    args = _preflight_args(cmd, inventories)
    if args is not None:
        return _preflight(args)
    words = cmd.text.split(None, 2)
    if words[0] == "bin/dlrig":
        ran = _shell(cmd.text, DLRIG_VENV=str(venv), DLRIG_PYTHON=sys.executable)
        assert "installing the controller environment" not in ran.err, "the stand-in venv's stamps are stale"
        return ran
    if words[0] in ("ansible", "ansible-playbook"):
        return Ran(127, "", f"{words[0]}: command not found (the docs must run it as bin/dlrig "
                   f"{'ansible' if words[0] == 'ansible' else 'playbook'} ...)", 0.0)
    return _shell(cmd.text)


def _normalise(lines: list[str]) -> list[str]:
    return [_UNREACHABLE.sub(r"\1<the ssh client's error>", line.rstrip()) for line in lines]


# --- the tests ---------------------------------------------------------------------------------------

def test_the_docs_show_commands_and_most_run() -> None:
    assert len(RUN) >= 8, [c.where for c in COMMANDS]
    assert any(c.output for c in RUN), "no doc command with output to compare"
    assert len(SKIPPED) < len(RUN)


@pytest.mark.parametrize("cmd", RUN, ids=[f"{c.where} {c.text[:60]}" for c in RUN])
def test_doc_command(cmd: Command, inventories: dict[str, Path], dlrig_venv: Path) -> None:
    ran = run_command(cmd, inventories, dlrig_venv)
    shown = (f"{cmd.where}: $ {cmd.text}\nexit {ran.code}\n--- stdout\n{ran.out[-4000:]}\n"
             f"--- stderr\n{ran.err[-2000:]}")
    is_preflight = _preflight_args(cmd, inventories) is not None
    if cmd.output is None and cmd.exit_code is None:
        allowed = {0, 1} if is_preflight else {0}
        if ran.code not in allowed:
            pytest.fail(f"exit {ran.code}, expected {sorted(allowed)}\n{shown}", pytrace=False)
    elif ran.code != (cmd.exit_code or 0):
        pytest.fail(f"exit {ran.code}, the docs show {cmd.exit_code or 0}\n{shown}", pytrace=False)
    if cmd.output is not None and not matches(_normalise(cmd.output), _normalise(ran.out.splitlines())):
        expected = "\n".join(cmd.output)
        pytest.fail(f"the output differs from the docs'\n{shown}\n--- the docs show\n{expected}",
                    pytrace=False)
    if is_preflight and "-i" not in cmd.argv and "--list-models" not in cmd.argv:
        again = run_command(Command(cmd.doc, cmd.line, f"{cmd.text} -i test", None, None), inventories,
                            dlrig_venv)
        assert again.code in (0, 1) and again.out, (
            f"{cmd.where} against the test inventory: exit {again.code}\n{again.err}")


def test_skipped_doc_commands_have_reasons(request: pytest.FixtureRequest) -> None:
    """Every command not run names its reason; the list is written to the terminal (not only with -rA)."""
    assert all(c.skip and len(c.skip) > 10 for c in SKIPPED), [c.where for c in SKIPPED if not c.skip]
    lines = [f"doc commands not run ({len(SKIPPED)} of {len(COMMANDS)}):"]
    lines += [f"  {c.where}  $ {c.text[:70]}  -- {c.skip}" for c in SKIPPED]
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            for line in lines:
                reporter.write_line(line)
    else:  # pytest without its terminal (e.g. -p no:terminal): stderr
        sys.stderr.write("\n".join(lines) + "\n")


# --- the reader itself ---------------------------------------------------------------------------------

def test_the_reader_of_doc_blocks(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "```bash\nbin/dlrig preflight   # a comment\nscripts/x.py --a \\\n  --b 'c # d'\n```\n\n"
        "<!-- doc-test: skip — needs a real host -->\n\n```sh\nbin/dlrig provision\n```\n"
        "<!-- doc-test: skip `mokutil` — root only -->\n```bash\nopenssl x\nmokutil --import k\n```\n"
        "```text\nnot a command\n```\n"
        "```text\n$ scripts/preflight.py --strict\nline 1\n...\nlast\n\n(exit 1)\n$ true\n```\n")
    got = [(c.line, c.text, c.output, c.exit_code, c.skip) for c in doc_commands(tmp_path)]
    assert got == [
        (2, "bin/dlrig preflight", None, None, None),
        (3, "scripts/x.py --a --b 'c # d'", None, None, None),
        (10, "bin/dlrig provision", None, None, "needs a real host"),
        (14, "openssl x", None, None, None),
        (15, "mokutil --import k", None, None, "root only"),
        (21, "scripts/preflight.py --strict", ["line 1", "...", "last"], 1, None),
        (27, "true", None, None, None),
    ]


def test_matching_with_elision() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d", ""])
    assert matches(["a", "...", "b"], ["a", "b"])
    assert not matches(["a", "...", "d"], ["a", "b", "c", "d", "e"])
    assert not matches(["a", "b"], ["a", "b", "c"])
