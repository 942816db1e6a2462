"""Lock names, inputs and resolver command (dlrig.locks, scripts/lock_env.py) and the committed locks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlrig.checks.stack import check_stack, role_facts
from dlrig.errors import InputError
from dlrig.locks import (
    Mirrors,
    glibc_for_os,
    lock_header,
    pytorch_lock,
    tensorflow_lock,
    uv_compile_command,
    uv_platform,
)
from dlrig.plan.parse import parse_host

ROOT = Path(__file__).resolve().parents[1]
MOLECULE_VARS = ROOT / "molecule/resources/inventory/group_vars/all"


def _test_stack() -> dict[str, str]:
    """The Molecule target's stack as the preflight resolves it from the scenario's inventory."""
    hostvars = {**yaml.safe_load((MOLECULE_VARS / "hardware.yml").read_text()),
                **yaml.safe_load((MOLECULE_VARS / "stack.yml").read_text())}
    result = check_stack(parse_host("dlrig-debian12", hostvars))
    assert result.status == "ok", result.message
    return role_facts(result.figures)


def test_pytorch_lock_name_and_inputs():
    spec = pytorch_lock("3.11", "2.14.1", "0.29.1", "2.8.12", "cu126")
    assert spec.name == "py3.11-torch2.14.1-cu126-torchvision0.29.1-fastai2.8.12"
    # From PyTorch's variant index, the variant's own build (local label): never PyPI's build of the release.
    assert spec.requirements == ("torch==2.14.1+cu126", "torchvision==0.29.1+cu126", "fastai==2.8.12",
                                 "ipykernel")
    assert spec.framework_indexes == ("https://download.pytorch.org/whl/cu126",)
    assert spec.path(ROOT) == ROOT / "roles/pytorch_env/files/locks" / f"{spec.name}.txt"
    assert spec.generated_path(ROOT / "locks", "2.27") == (
        ROOT / "locks/pytorch_env/manylinux_2_17" / f"{spec.name}.txt")
    pypi = pytorch_lock("3.11", "2.14.1", "0.29.1", "2.8.12", "cu130", torch_index="")
    assert pypi.framework_indexes == () and pypi.requirements[:2] == ("torch==2.14.1", "torchvision==0.29.1")


def test_tensorflow_lock_picks_the_package_by_variant():
    cpu = tensorflow_lock("3.11", "2.21.0", "3.15.1", "cpu")
    cuda = tensorflow_lock("3.11", "2.21.0", "3.15.1", "cuda")
    assert cpu.name == "py3.11-tensorflow2.21.0-cpu-keras3.15.1"
    assert cpu.requirements[0] == "tensorflow-cpu==2.21.0"
    assert cuda.requirements[0] == "tensorflow[and-cuda]==2.21.0"


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda: pytorch_lock("3", "2.14.1", "0.29.1", "2.8.12", "cu126"), "python"),
        (lambda: pytorch_lock("3.11", "latest", "0.29.1", "2.8.12", "cu126"), "torch"),
        (lambda: pytorch_lock("3.11", "2.14.1", "0.29.1", "2.8.12", "cuda12"), "variant"),
        (lambda: tensorflow_lock("3.11", "2.21.0", "3.15.1", "gpu"), "variant"),
    ],
)
def test_bad_input_names_the_field(call, path):
    with pytest.raises(InputError) as err:
        call()
    assert err.value.path == path


def test_uv_command_puts_framework_index_first_and_targets_linux():
    spec = pytorch_lock("3.11", "2.14.1", "0.29.1", "2.8.12", "cu128")
    mirrors = Mirrors("https://mirror.example/simple", ("file:///mirror/simple",), ("wheels",))
    cmd = uv_compile_command(spec, "uv", Path("in.txt"), Path("out.txt"), mirrors, glibc="2.27")
    assert cmd[:3] == ["uv", "pip", "compile"]
    assert "--generate-hashes" in cmd
    # Wheels only, as the roles install them.
    assert cmd[cmd.index("--only-binary") + 1] == ":all:"
    # uv has no manylinux_2_27 target: glibc 2.27 (Ubuntu 18.04) resolves for the 2.17 floor below it.
    assert cmd[cmd.index("--python-platform") + 1] == "x86_64-manylinux_2_17"
    extras = [cmd[i + 1] for i, part in enumerate(cmd) if part == "--extra-index-url"]
    assert extras == ["https://download.pytorch.org/whl/cu128", "file:///mirror/simple"]
    assert cmd[-3:] == ["in.txt", "-o", "out.txt"]
    header = lock_header(spec, cmd, "2026-11-30", mirrors=mirrors)
    assert "in.txt" not in header and "--generate-hashes" in header and header.startswith("# dlrig lock: ")
    # The resolving machine's mirrors are counted, never named; the framework's own index stays.
    assert "mirror" not in header.replace("# Mirrors:", "") and "wheels" not in header
    assert "--extra-index-url https://download.pytorch.org/whl/cu128" in header
    assert "# Mirrors: an index, 1 extra index(es), 1 find-links location(s)" in header
    with pytest.raises(InputError):
        uv_compile_command(spec, "uv", Path("i"), Path("o"), mirrors, glibc="latest")


def test_without_a_mirror_uv_keeps_its_own_default_index():
    spec = tensorflow_lock("3.11", "2.21.0", "3.15.1", "cpu")
    cmd = uv_compile_command(spec, "uv", Path("in.txt"), Path("out.txt"), Mirrors())
    # No --index-url: uv's default (PyPI, or the user's UV_INDEX_URL / uv.toml) decides.
    assert "--index-url" not in cmd and "--extra-index-url" not in cmd
    assert "# Mirrors: none (uv's default index" in lock_header(spec, cmd, "2026-12-02", mirrors=Mirrors())


@pytest.mark.parametrize(("glibc", "platform"), [
    ("2.17", "x86_64-manylinux_2_17"), ("2.27", "x86_64-manylinux_2_17"), ("2.28", "x86_64-manylinux_2_28"),
    ("2.30", "x86_64-manylinux_2_28"), ("2.31", "x86_64-manylinux_2_31"), ("2.35", "x86_64-manylinux_2_35"),
    ("2.36", "x86_64-manylinux_2_36"), ("2.39", "x86_64-manylinux_2_39"), ("2.41", "x86_64-manylinux_2_40"),
])
def test_uv_platform_is_the_highest_floor_uv_knows_below_the_glibc(glibc, platform):
    assert uv_platform(glibc) == platform


def test_uv_platform_refuses_a_glibc_older_than_manylinux2014():
    with pytest.raises(InputError, match="older than manylinux2014"):
        uv_platform("2.12")


@pytest.mark.parametrize(("distribution", "release", "glibc"), [
    ("Ubuntu", "18.04", "2.27"), ("Ubuntu", "20.04", "2.31"), ("Ubuntu", "22.04", "2.35"),
    ("Ubuntu", "24.04", "2.39"), ("Debian", "12", "2.36"), ("Debian", "12.5", "2.36"),
])
def test_glibc_of_each_supported_release_comes_from_the_matrix(distribution, release, glibc):
    assert glibc_for_os(distribution, release) == glibc


def test_uv_command_passes_excludes_and_trusted_hosts():
    spec = tensorflow_lock("3.11", "2.14.1", "2.14.0", "cuda")
    mirrors = Mirrors("http://mirror.example/simple", trusted_hosts=("mirror.example",))
    cmd = uv_compile_command(spec, "uv", Path("/t/x.in"), Path("o"), mirrors, glibc="2.27")
    assert cmd[cmd.index("--excludes") + 1] == "/t/x.excludes"
    assert cmd[cmd.index("--allow-insecure-host") + 1] == "mirror.example"
    assert "# Left out: tensorrt" in lock_header(spec, cmd, "2026-11-30", "2.27")


def test_script_dry_run_prints_the_command():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/lock_env.py"), "tensorflow", "--python", "3.11", "--tensorflow",
         "2.21.0", "--keras", "3.15.1", "--variant", "cpu", "--uv", "/bin/uv", "--dry-run"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("/bin/uv pip compile ") and "--generate-hashes" in out


def test_script_reports_bad_input_without_a_traceback():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts/lock_env.py"), "pytorch", "--python", "3.11", "--torch",
         "2.14.1", "--torchvision", "0.29.1", "--fastai", "2.8.12", "--variant", "cuda12", "--dry-run"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("lock_env: variant: expected cpu, cuNNN")


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", block)
        if m:
            assert "--hash=sha256:" in block, f"unhashed pin: {block.splitlines()[0]}"
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def test_committed_locks_of_the_molecule_test_stack_exist_and_pin_it():
    s = _test_stack()
    pt = pytorch_lock(s["python"], s["torch"], s["torchvision"], s["fastai"], s["torch_cuda_variant"],
                      torch_index="")
    # The target declares no GPU: tensorflow_env installs the CPU build (roles/tensorflow_env/README.md).
    tf = tensorflow_lock(s["python"], s["tensorflow"], s["keras"], "cpu")
    pt_pins = _pins(pt.path(ROOT).read_text())
    tf_pins = _pins(tf.path(ROOT).read_text())
    assert (pt_pins["torch"], pt_pins["torchvision"], pt_pins["fastai"]) == ("2.14.1", "0.29.1", "2.8.12")
    assert "ipykernel" in pt_pins and "ipykernel" in tf_pins
    # torch 2.14.1 on PyPI is the CUDA 13.0 build: the cu130 lock carries its CUDA 13 wheels.
    assert pt_pins["nvidia-cudnn-cu13"] and pt_pins["cuda-toolkit"].startswith("13.0")
    assert (tf_pins["tensorflow-cpu"], tf_pins["keras"]) == ("2.21.0", "3.15.1")
    assert not [n for n in tf_pins if n.startswith("nvidia-")]


def test_every_committed_lock_is_fully_hashed():
    locks = sorted(ROOT.glob("roles/*/files/locks/*.txt"))
    assert len(locks) >= 3
    for lock in locks:
        assert _pins(lock.read_text()), lock
