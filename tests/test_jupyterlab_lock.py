"""The JupyterLab environment's lock (role jupyterlab): its name, its inputs, and the committed file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlrig.errors import InputError
from dlrig.locks import Mirrors, jupyterlab_lock, lock_header, lock_pins, uv_compile_command

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = yaml.safe_load((ROOT / "roles/jupyterlab/defaults/main.yml").read_text())


def test_spec_names_python_and_release_and_asks_for_jupyterlab_only():
    spec = jupyterlab_lock("3.12", "4.6.4")
    assert (spec.role, spec.name, spec.requirements) == (
        "jupyterlab",
        "py3.12-jupyterlab4.6.4",
        ("jupyterlab==4.6.4",),
    )
    assert spec.framework_indexes == ()
    assert spec.path(ROOT) == ROOT / "roles/jupyterlab/files/locks/py3.12-jupyterlab4.6.4.txt"


@pytest.mark.parametrize(
    ("python", "release", "field"), [("3", "4.6.4", "python"), ("3.11", "latest", "jupyterlab")]
)
def test_bad_input_names_the_field(python, release, field):
    with pytest.raises(InputError) as err:
        jupyterlab_lock(python, release)
    assert err.value.path == field


def test_header_names_local_mirrors_without_their_paths():
    spec = jupyterlab_lock("3.11", "4.6.4")
    local_index = "file:" + "//" + "/srv/mirror/simple"  # a mirror of the resolving machine
    mirrors = Mirrors("https://pypi.org/simple", (local_index,), ("/srv/wheels",))
    cmd = uv_compile_command(spec, "/usr/bin/uv", Path("work/in.txt"), Path("work/out.txt"), mirrors)
    header = lock_header(spec, cmd, "2026-12-02", "2.28", mirrors)
    assert "/srv/" not in header and "work/" not in header and local_index not in header
    assert "mirror" in header.lower()  # it says mirrors were used, without naming them


def test_committed_lock_of_the_test_stack_is_hashed_and_carries_no_machine_path():
    name = f"py3.11-jupyterlab{DEFAULTS['jupyterlab_version']}"
    text = (ROOT / "roles/jupyterlab/files/locks" / f"{name}.txt").read_text()
    pins = lock_pins(text)  # LockError when a pin is inexact or unhashed
    assert pins["jupyterlab"] == DEFAULTS["jupyterlab_version"]
    # What the role imports before switching the environment in, and what hashes the password.
    assert {"jupyter-server", "argon2-cffi", "ipykernel"} <= set(pins)
    assert not re.search(r"file:/{2}|(^|\s)/(opt|tmp|root|home|var|work)/", text, re.M)


def test_script_dry_run_prints_the_jupyterlab_command():
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/lock_env.py"),
            "jupyterlab",
            "--python",
            "3.12",
            "--jupyterlab",
            "4.6.4",
            "--os",
            "Ubuntu",
            "18.04",
            "--uv",
            "/bin/uv",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("/bin/uv pip compile ")
    assert "--python-version 3.12" in out and "x86_64-manylinux_2_17" in out
