"""The roles install exactly the stack the preflight resolved (issue 3): the expected set is computed
here with dlrig's own stack check from the same inventory variables, then compared with what is on
the target — the driver branch held, each environment's interpreter and packages, the verify report."""

from __future__ import annotations

import json
from typing import Any

from conftest import run_ok


def env_versions(host: Any, env: str, modules: list[str]) -> dict[str, str]:
    code = ("import importlib, json, sys; print(json.dumps({'python': '%d.%d' % sys.version_info[:2], "
            + ", ".join(f"'{m}': importlib.import_module('{m}').__version__" for m in modules) + "}))")
    return json.loads(run_ok(host, f"/opt/dlrig/envs/{env}/bin/python -c %s", code))


def test_the_driver_branch_installed_is_the_resolved_one(host: Any, resolved: dict[str, str]) -> None:
    package = host.package(f"cuda-drivers-{resolved['driver']}")
    assert package.is_installed, f"the resolved branch {resolved['driver']} is not installed"
    assert package.version.startswith(resolved["driver"] + ".")


def test_the_pytorch_environment_holds_the_resolved_versions(host: Any, resolved: dict[str, str]) -> None:
    got = env_versions(host, "pytorch", ["torch", "torchvision", "fastai"])
    assert got["python"] == resolved["python"]
    for name in ("torch", "torchvision", "fastai"):
        assert got[name].split("+")[0] == resolved[name], (name, got[name], resolved[name])


def test_the_tensorflow_environment_holds_the_resolved_versions(host: Any, resolved: dict[str, str]) -> None:
    got = env_versions(host, "tensorflow", ["tensorflow", "keras"])
    assert got["python"] == resolved["python"]
    assert got["tensorflow"] == resolved["tensorflow"]
    assert got["keras"] == resolved["keras"]


def test_the_verify_report_shows_the_resolved_versions(host: Any, resolved: dict[str, str]) -> None:
    report = host.file("/var/lib/dlrig/verify-report.txt").content_string
    for name in ("torch", "fastai", "tensorflow", "keras"):
        assert resolved[name] in report, f"{name} {resolved[name]} missing from the verify report"
