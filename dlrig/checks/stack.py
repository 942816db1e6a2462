"""The ``stack`` check: the driver, CUDA, cuDNN, Python and framework set resolved for a host.

Its figures carry the resolved versions twice: under ``versions`` (every key of the resolver, for the
roles) and at the top level keyed by name (``driver``, ``cuda``, ``cudnn``, ``python``, ``torch``,
``torchvision``, ``fastai``, ``tensorflow``, ``keras``), so the check's JSON entry shows them directly.
An unknown OS release or a malformed pin is bad input: the resolver's InputError propagates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from dlrig.checks.registry import Context, live_check, plan_check
from dlrig.errors import InputError
from dlrig.plan.model import HostPlan, OsRelease
from dlrig.plan.parse import architecture_names
from dlrig.result import CheckResult, Status
from dlrig.stack.resolver import VERSION_KEYS, GpuTarget, Resolution, resolve
from dlrig.stack.targets import gpu_targets

#: The versions repeated at the top level of the check's figures.
TOP_LEVEL_KEYS: tuple[str, ...] = (
    "driver", "cuda", "cudnn", "python", "torch", "torchvision", "fastai", "tensorflow", "keras",
)


def _targets(plan: HostPlan) -> tuple[list[GpuTarget], list[str]]:
    """The declared GPUs as resolver targets, and where the architecture of the others is missing."""
    targets, unknown = gpu_targets(plan)
    return targets, [f"hardware.gpus[{i}].arch ({model})" for i, model in unknown]


def _figures(res: Resolution | None) -> dict[str, Any]:
    versions: dict[str, Any] = dict.fromkeys(VERSION_KEYS)
    extra: dict[str, Any] = {"apt_repo_path": None, "python_source": None, "notes": []}
    if res is not None:
        versions = dict(res.versions)
        extra = {"apt_repo_path": res.apt_repo_path, "python_source": res.python_source,
                 "notes": list(res.notes)}
    top = {key: versions.get(key) for key in TOP_LEVEL_KEYS}
    return {**top, "versions": versions, **extra}


def summary(res: Resolution, label: str) -> str:
    """One line a person reads: ``Ubuntu 18.04: driver 530 (proprietary), CUDA 12.1, …``."""
    v = res.versions
    return (f"{label}: driver {v['driver']} ({v['driver_flavour']}), CUDA {v['cuda']}, cuDNN {v['cudnn']}, "
            f"Python {v['python']} ({res.python_source}), torch {v['torch']}+{v['torch_cuda_variant']}, "
            f"torchvision {v['torchvision']}, fastai {v['fastai']}, TensorFlow {v['tensorflow']}, "
            f"Keras {v['keras']}")


@lru_cache(maxsize=256)
def _resolve_shared(distribution: str, release: str, targets: tuple[GpuTarget, ...],
                    pins: tuple[tuple[str, str], ...]) -> Resolution:
    """Resolve once per distinct (OS, GPUs, pins): a fleet of identical boxes costs one resolution."""
    return resolve(distribution, release, targets, dict(pins))


def _resolve_for(plan: HostPlan, targets: list[GpuTarget]) -> Resolution:
    assert plan.os is not None
    try:
        return _resolve_shared(plan.os.distribution, plan.os.release, tuple(targets),
                               tuple(sorted(plan.stack_pins.items())))
    except InputError as err:  # the shared resolution names no host: name this one
        raise InputError(plan.name, err.path, err.problem) from None


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    return ", ".join(f"{label} {f[key]}" for key, label in (("driver", "driver"), ("cuda", "CUDA"))
                     if f.get(key))


@plan_check("stack", order=90, figures=("driver", "cuda", "torch", "tensorflow"), key_figures=key_figures)
def check_stack(plan: HostPlan) -> CheckResult:
    """Resolve the host's stack from its declared OS, GPUs and pins."""
    if plan.os is None:
        return CheckResult(
            id="stack", status="warn",
            message=("no `os` declared: the stack will be resolved from facts at run time; declare "
                     "os: {distribution: Ubuntu, release: \"22.04\"} to check it now"),
            figures=_figures(None))
    targets, unknown = _targets(plan)
    if unknown:
        # Refused, not resolved without the card: a stack for the other (or no) GPUs may need a driver
        # or CUDA that no longer runs an older card (CUDA 13 and Maxwell), issue 19.
        return CheckResult(
            id="stack", status="fail", figures=_figures(None),
            message=(f"the architecture of a GPU the catalogue lacks is not declared: {', '.join(unknown)}; "
                     f"no stack is resolved until it is (a driver or CUDA for a newer card may not run it): "
                     f"declare it, one of {', '.join(architecture_names())}"))
    res = _resolve_for(plan, targets)
    label = f"{plan.os.distribution} {plan.os.release}"
    if not res.ok:
        return CheckResult(id="stack", status="fail", message="; ".join(res.problems), figures=_figures(res))
    status: Status = "ok"
    return CheckResult(id="stack", status=status, message=summary(res, label), figures=_figures(res))



def role_facts(figures: dict[str, Any]) -> dict[str, Any]:
    """The ``dlrig_stack`` fact the roles read: the resolved versions keyed by name (driver, cuda, …)
    and where they come from (apt_repo_path, python_source); unresolved keys are left out, so the
    roles' ``default(...)`` applies."""
    versions = {key: value for key, value in (figures.get("versions") or {}).items() if value is not None}
    extra = {key: figures[key] for key in ("apt_repo_path", "python_source") if figures.get(key)}
    return {**versions, **extra}


@live_check("stack", order=50)
def check_stack_for_running_os(ctx: Context) -> CheckResult | None:
    """Live, for a host whose inventory declares no ``os``: the stack resolved for the release it runs
    (the roles read it as ``dlrig_stack``); nothing when ``os`` is declared (the plan preflight resolved
    it) or the running release is not known."""
    plan = ctx.plan
    if plan.os is not None or plan.hardware is None or ctx.running_os is None:
        return None
    try:
        return check_stack(dataclasses.replace(plan, os=OsRelease(*ctx.running_os)))
    except InputError as exc:
        return CheckResult("stack", "fail", str(exc))


def stack_facts(checks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``dlrig_stack`` fact of a host entry's ``checks``: the resolved stack's :func:`role_facts`, or
    ``{}`` when none resolved it."""
    stack = next((c for c in checks if c.get("id") == "stack"), None)
    return role_facts(dict(stack)) if stack is not None and stack.get("status") != "fail" else {}


def resolved_driver(checks: Sequence[Mapping[str, Any]]) -> str | None:
    """The driver branch a report's resolved stack chose (its JSON ``checks``), None when not resolved."""
    stack = next((c for c in checks if c.get("id") == "stack"), None)
    if not stack or stack.get("status") == "fail" or not stack.get("driver"):
        return None
    return str(stack["driver"])
