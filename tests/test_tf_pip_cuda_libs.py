"""TensorFlow's pip CUDA libraries (issue 9, item 5): which of the resolver's TensorFlow releases get
LD_LIBRARY_PATH for the nvidia-* wheels in their kernel and in gpu_verify's probe, rendered by Ansible
from the roles' own variables (roles/tensorflow_env/defaults/main.yml cites the sources)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROOT = Path(__file__).resolve().parent.parent
MATRIX = yaml.safe_load((ROOT / "dlrig/data/matrix.yml").read_text())
TF_VERSIONS = [row["version"] for row in MATRIX["tensorflow_releases"]]
DEFAULTS = yaml.safe_load((ROOT / "roles/tensorflow_env/defaults/main.yml").read_text())


def render(tensorflow: str, variant: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for path in ("roles/tensorflow_env/defaults/main.yml", "roles/tensorflow_env/vars/main.yml",
                 "roles/gpu_verify/defaults/main.yml"):
        variables.update(yaml.safe_load((ROOT / path).read_text()))
    variables.update({"dlrig_stack": {"tensorflow": tensorflow, "python": "3.11", "keras": "x"},
                      "hardware": {"gpus": [{"model": "GeForce RTX 2070"}] if variant == "cuda" else []}})
    templar = Templar(loader=DataLoader(), variables=variables)
    tf_entry = next(e for e in variables["gpu_verify_envs"] if e["framework"] == "tensorflow")
    return {"ld": templar.template(variables["tensorflow_env_nvidia_ld_library_path"]).strip(),
            "probe_env": templar.template(tf_entry["environment"]),
            "variant": templar.template(variables["tensorflow_env_variant"])}


def needs_it(version: str) -> bool:
    return tuple(int(p) for p in version.split(".")[:2]) >= (2, 16)


def test_the_resolver_offers_releases_on_both_sides_of_the_line() -> None:
    assert "2.14.1" in TF_VERSIONS and "2.15.1" in TF_VERSIONS
    assert {"2.16.2", "2.17.1", "2.18.1"} <= set(TF_VERSIONS)


@pytest.mark.parametrize("version", TF_VERSIONS)
def test_cuda_builds_from_2_16_get_the_wheels_library_path(version: str) -> None:
    got = render(version, "cuda")
    assert got["variant"] == "cuda"
    if needs_it(version):
        dirs = got["ld"].split(":")
        env = f"{DEFAULTS['tensorflow_env_prefix']}/{DEFAULTS['tensorflow_env_name']}"
        site = f"{env}/lib/python3.11/site-packages"
        assert f"{site}/nvidia/cudnn/lib" in dirs, (version, got)
        assert f"{site}/nvidia/cuda_runtime/lib" in dirs, (version, got)
        assert got["probe_env"] == {"LD_LIBRARY_PATH": got["ld"]}, (version, got)
    else:
        assert got["ld"] == "" and got["probe_env"] == {}, (version, got)


@pytest.mark.parametrize("version", ["2.14.1", "2.16.2", "2.21.0"])
def test_cpu_builds_get_none(version: str) -> None:
    got = render(version, "cpu")
    assert got["variant"] == "cpu" and got["ld"] == "" and got["probe_env"] == {}, (version, got)
