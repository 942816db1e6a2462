"""Role cuda on the Molecule target: CUDA toolkits side by side and cuDNN from the same
repository, one version selected through /usr/local/cuda and /etc/profile.d/dlrig-cuda.sh."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_ok

PROFILE = "/etc/profile.d/dlrig-cuda.sh"


@pytest.fixture
def versions(inventory_vars: dict[str, Any]) -> list[str]:
    return [str(v) for v in inventory_vars.get("cuda_versions", ["12.8", "12.6"])]


@pytest.fixture
def default_version(inventory_vars: dict[str, Any], versions: list[str]) -> str:
    return str(inventory_vars.get("cuda_default_version", versions[0]))


def test_several_versions_side_by_side(host: Any, versions: list[str]) -> None:
    assert len(versions) >= 2, "the scenario should install two toolkits to test side by side"
    for version in versions:
        assert host.package("cuda-toolkit-" + version.replace(".", "-")).is_installed
        assert host.file(f"/usr/local/cuda-{version}/bin/nvcc").is_file
        out = run_ok(host, f"/usr/local/cuda-{version}/bin/nvcc --version")
        assert f"release {version}" in out


def test_cudnn_from_the_same_repository(host: Any) -> None:
    assert host.package("cudnn9-cuda-12").is_installed
    policy = run_ok(host, "apt-cache policy cudnn9-cuda-12")
    assert "127.0.0.1" in policy, policy
    assert host.file("/usr/include/x86_64-linux-gnu/cudnn_version_v9.h").exists


def test_usr_local_cuda_points_at_the_default_version(host: Any, default_version: str) -> None:
    link = host.file("/usr/local/cuda")
    assert link.is_symlink
    assert run_ok(host, "readlink -f /usr/local/cuda").strip() == f"/usr/local/cuda-{default_version}"
    query = run_ok(host, "update-alternatives --query cuda")
    assert "Status: manual" in query, "auto mode would let a newer toolkit move the link"
    assert f"Value: /usr/local/cuda-{default_version}" in query


def test_profile_script_selects_the_default_version(
    host: Any, default_version: str, versions: list[str]
) -> None:
    profile = host.file(PROFILE)
    assert profile.exists and profile.user == "root" and profile.mode == 0o644
    assert "Managed by dlrig" in profile.content_string
    path = run_ok(host, "bash -lc 'echo $PATH'").strip().split(":")
    assert path[0] == f"/usr/local/cuda-{default_version}/bin"
    ld = run_ok(host, "bash -lc 'echo $LD_LIBRARY_PATH'").strip().split(":")
    assert f"/usr/local/cuda-{default_version}/lib64" in ld
    assert run_ok(host, "bash -lc 'echo $CUDA_HOME'").strip() == f"/usr/local/cuda-{default_version}"
    assert f"release {default_version}" in run_ok(host, "bash -lc 'nvcc --version'")


def test_another_installed_version_for_one_session(
    host: Any, default_version: str, versions: list[str]
) -> None:
    other = next(v for v in versions if v != default_version)
    out = run_ok(host, f"env DLRIG_CUDA_VERSION={other} bash -lc 'nvcc --version'")
    assert f"release {other}" in out


def test_profile_script_does_not_repeat_itself(host: Any, default_version: str) -> None:
    twice = run_ok(host, f"sh -c '. {PROFILE}; . {PROFILE}; echo $PATH; echo $LD_LIBRARY_PATH'").splitlines()
    assert twice[0].split(":").count(f"/usr/local/cuda-{default_version}/bin") == 1
    assert twice[1].split(":").count(f"/usr/local/cuda-{default_version}/lib64") == 1
