"""The shipped reference build (inventory/host_vars/deep-al.yml), converged through site.yml on the Debian 12
image made to look like Ubuntu 18.04: what the preflight resolves is what every role installed.

Real: the roles' Ubuntu 18.04 code paths, NVIDIA's package names and versions for that repository path,
apt holds and pins, the standalone CPython download/checksum/unpack, both environments installed from the
committed locks. Test doubles: the packages' contents (no driver, no CUDA), the CPython tarball's content
(Debian's 3.11 in python-build-standalone's layout), nvidia-smi and the loaded module's sysfs version.
PyPI's torch 2.5.1 is the CUDA 12.4 build, not +cu121 (download.pytorch.org is not reachable here).
The framework-on-GPU probe of gpu_verify cannot pass without a GPU: its outcome is stated, not asserted.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from conftest import run_ok

# What the preflight must resolve for the shipped deep-al.yml (issue 9): the roles are tested on this.
REFERENCE_STACK = {
    "driver": "530", "driver_flavour": "proprietary", "cuda": "12.1", "cudnn": "8.9", "python": "3.11",
    "python_source": "standalone", "apt_repo_path": "ubuntu1804", "torch": "2.5.1", "torchvision": "0.20.1",
    "torch_cuda_variant": "cu121", "fastai": "2.8.12", "tensorflow": "2.14.1", "keras": "2.14.0",
}
REPO = "compute/cuda/repos/ubuntu1804/x86_64/"
STANDALONE = "3.11.10"  # roles/python_runtime/defaults/main.yml: the pinned 3.11 build (its home's name)


def env_versions(host: Any, env: str, modules: list[str]) -> dict[str, str]:
    code = ("import importlib, json, sys; print(json.dumps({'python': '%d.%d' % sys.version_info[:2], "
            "'prefix': sys.base_prefix, "
            + ", ".join(f"'{m}': importlib.import_module('{m}').__version__" for m in modules) + "}))")
    out = run_ok(host, f"/opt/dlrig/envs/{env}/bin/python -c %s", code)
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_the_preflight_resolves_the_reference_stack(resolved: dict[str, str]) -> None:
    assert {key: resolved.get(key) for key in REFERENCE_STACK} == REFERENCE_STACK


def test_ansible_sees_ubuntu_1804_on_a_debian_12_container(host: Any) -> None:
    facts = host.ansible("setup", "filter=ansible_distribution*")["ansible_facts"]
    assert (facts["ansible_distribution"], facts["ansible_distribution_version"],
            facts["ansible_distribution_release"]) == ("Ubuntu", "18.04", "bionic")
    # Honest about the rest: Debian's own system is underneath (prepare.yml kept its release file).
    assert 'VERSION_ID="12"' in host.file("/etc/os-release.debian").content_string
    assert host.file("/etc/debian_version").content_string.startswith("12.")


def test_nvidias_repository_is_configured_at_the_ubuntu1804_path(host: Any) -> None:
    sources = run_ok(host, "cat /etc/apt/sources.list.d/dlrig-nvidia-cuda.list")
    assert REPO in sources, sources


def test_driver_530_is_installed_held_and_pinned(host: Any) -> None:
    package = host.package("cuda-drivers-530")
    assert package.is_installed and package.version.startswith("530."), package.version
    assert host.package("nvidia-driver-530").is_installed
    held = run_ok(host, "apt-mark showhold").split()
    assert "cuda-drivers-530" in held, held
    pref = host.file("/etc/apt/preferences.d/dlrig-nvidia-driver.pref")
    assert pref.exists and "530" in pref.content_string, pref.content_string


def test_nvidia_persistenced_is_enabled_as_the_user_the_ubuntu_package_creates(host: Any) -> None:
    # Enabled, not started: in a container the role leaves the module (and so the daemon's start) to the
    # container host (nvidia_driver_module_loaded stays false), as on any container.
    assert host.user("nvidia-persistenced").exists
    assert host.service("nvidia-persistenced").is_enabled
    assert "--user nvidia-persistenced" in run_ok(host, "systemctl cat nvidia-persistenced")


def test_cuda_toolkit_12_1_is_installed_and_selected(host: Any) -> None:
    assert host.package("cuda-toolkit-12-1").is_installed
    assert host.file("/usr/local/cuda").linked_to == "/usr/local/cuda-12.1"
    assert "release 12.1" in run_ok(host, "/usr/local/cuda/bin/nvcc --version")


def test_the_cudnn_build_pin_takes_the_cuda_12_1_build_over_a_higher_cuda_11_8_one(host: Any) -> None:
    for name in ("libcudnn8", "libcudnn8-dev"):
        version = host.package(name).version
        assert version.startswith("8.9.") and version.endswith("+cuda12.1"), (name, version)
    # The mirror offers a higher +cuda11.8 build, which unpinned apt would have taken.
    offered = run_ok(host, "apt-cache madison libcudnn8")
    assert "8.9.2.26-1+cuda11.8" in offered and "8.9.0.131-1+cuda11.8" in offered, offered
    assert host.package("libcudnn8").version == "8.9.0.131-1+cuda12.1"


def test_python_3_11_comes_from_the_standalone_tarball(host: Any, mirror_dir: Path) -> None:
    sha256 = (mirror_dir / "python-build-standalone" / "cpython-3.11.sha256").read_text().strip()
    tarball = host.file(f"/var/cache/dlrig/python/cpython-{STANDALONE}+20240909-x86_64-unknown-linux-gnu"
                        "-install_only_stripped.tar.gz")
    assert tarball.exists and tarball.sha256sum == sha256, "the downloaded tarball is not the mirror's"
    home = f"/opt/dlrig/python/{STANDALONE}"
    assert host.file(f"{home}/.dlrig-complete").content_string.strip() == sha256
    version = run_ok(host, f"{home}/bin/python3.11 -c 'import sys; print(sys.version_info[:2])'")
    assert version.strip() == "(3, 11)", version
    for env in ("pytorch", "tensorflow"):
        assert f"home = {home}/bin" in host.file(f"/opt/dlrig/envs/{env}/pyvenv.cfg").content_string, env


def test_the_pytorch_environment_imports_the_resolved_versions(host: Any, resolved: dict[str, str]) -> None:
    got = env_versions(host, "pytorch", ["torch", "torchvision", "fastai"])
    assert got["python"] == resolved["python"] and got["prefix"] == f"/opt/dlrig/python/{STANDALONE}"
    # PyPI's build carries its CUDA as a local version (2.5.1+cu124): the public version is the resolved one.
    public = tuple(got[name].split("+")[0] for name in ("torch", "torchvision", "fastai"))
    assert public == (resolved["torch"], resolved["torchvision"], resolved["fastai"]), got
    assert public == ("2.5.1", "0.20.1", "2.8.12"), got


def test_torch_is_pypis_cuda_12_4_build_not_the_resolved_cu121_one(host: Any,
                                                                    resolved: dict[str, str]) -> None:
    """download.pytorch.org (the +cu121 wheels) is not reachable here: the scenario installs PyPI's torch
    2.5.1, which is built for CUDA 12.4 (nvidia-*-cu12 12.4 wheels). Said here, in the test output."""
    cuda = run_ok(host, "/opt/dlrig/envs/pytorch/bin/python -c %s", "import torch; print(torch.version.cuda)")
    cuda = cuda.strip()
    python = "/opt/dlrig/envs/pytorch/bin/python"
    version = run_ok(host, f"{python} -c %s", "import torch; print(torch.__version__)")
    assert resolved["torch_cuda_variant"] == "cu121"
    assert cuda == "12.4" and version.strip() == "2.5.1+cu124", (cuda, version)
    warnings.warn(f"reference scenario: torch {resolved['torch']} is PyPI's CUDA {cuda} build, not the "
                  f"resolved +{resolved['torch_cuda_variant']} (download.pytorch.org is not reachable here)",
                  stacklevel=1)


def test_the_tensorflow_environment_imports_the_resolved_versions(host: Any,
                                                                   resolved: dict[str, str]) -> None:
    got = env_versions(host, "tensorflow", ["tensorflow", "keras"])
    assert got["python"] == resolved["python"] and got["prefix"] == f"/opt/dlrig/python/{STANDALONE}"
    assert (got["tensorflow"], got["keras"]) == (resolved["tensorflow"], resolved["keras"])
    assert (got["tensorflow"], got["keras"]) == ("2.14.1", "2.14.0"), got


def test_both_kernels_are_registered_with_their_environments(host: Any) -> None:
    for kernel, env in (("dlrig-pytorch", "pytorch"), ("dlrig-tensorflow", "tensorflow")):
        spec = json.loads(host.file(f"/usr/local/share/jupyter/kernels/{kernel}/kernel.json").content_string)
        assert spec["argv"][0] == f"/opt/dlrig/envs/{env}/bin/python", spec


def test_the_verify_report_and_the_framework_on_gpu_outcome(host: Any) -> None:
    """The report is written with what the roles installed. The framework-on-GPU probe needs a real GPU:
    its outcome here is stated (as a warning in the test output), not asserted."""
    report = json.loads(host.file("/var/lib/dlrig/verify-report.json").content_string)
    system = report["system"]
    assert system["driver_version"] == "530.30.02", system
    assert str(system["cuda_toolkit"]).startswith("12.1."), system
    assert any("+cuda12.1" in str(p) for p in system["cudnn_packages"]), system["cudnn_packages"]
    assert set(report["frameworks"]) == {"pytorch", "tensorflow"}, report["frameworks"]
    assert host.file("/var/lib/dlrig/verify-report.txt").exists
    warnings.warn("reference scenario: gpu_verify (no GPU here, a test double of nvidia-smi) says verdict "
                  f"{report['verdict']!r}, problems {report['problems']}", stacklevel=1)
