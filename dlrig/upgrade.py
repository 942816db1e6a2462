"""Decisions of the GPU-upgrade flow (``playbooks/upgrade-gpu.yml``), as pure functions.

- :func:`decide_driver`: keep the installed driver branch when it serves every declared GPU (the stack is
  re-resolved with that branch pinned), else upgrade to the branch the resolver picks for the new cards;
  install when no driver is there. The decision carries the stack that goes with the chosen branch, so
  CUDA and the framework environments stay what the installed driver runs.
- :func:`stack_diff`: what differs between what an environment recorded at install time and the stack
  resolved now; an empty list means the environment still fits and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["keep", "upgrade", "install", "resolved"]


@dataclass(frozen=True)
class DriverDecision:
    """What the upgrade does with the NVIDIA driver, and why (a sentence for the run's summary)."""

    action: Action
    branch: str | None
    reason: str
    installed_version: str | None = None
    installed_branch: str | None = None
    resolved_branch: str | None = None
    stack: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def driver_branch(version: str | None) -> str | None:
    """``535.183.01`` -> ``535``; None for no or an unreadable version."""
    if not version:
        return None
    match = re.match(r"^\s*(\d{3,4})(?:\.\d+)*\s*$", str(version))
    return match.group(1) if match else None


def gpu_targets(plan: Any) -> tuple[list[Any], list[str]]:
    """The resolver's view of the declared GPUs, and the models it cannot place (not catalogued)."""
    from dlrig.stack import GpuTarget

    targets, unknown = [], []
    for decl in plan.hardware.gpus if plan.hardware is not None else []:
        if decl.spec is None:
            unknown.append(decl.model)
        else:
            targets.append(GpuTarget(decl.model, decl.spec.arch, decl.spec.compute_capability))
    return targets, unknown


def _cards(plan: Any) -> str:
    gpus = plan.hardware.gpus if plan.hardware is not None else []
    return " + ".join(f"{g.count}× {g.model}" for g in gpus) or "no GPU"


def decide_driver(
    plan: Any,
    installed_version: str | None,
    distribution: str | None,
    release: str | None,
    resolve: Callable[..., Any] | None = None,
) -> DriverDecision:
    """Keep, upgrade or install the driver for the GPUs ``plan`` declares on this OS release."""
    if resolve is None:
        from dlrig.stack import resolve as resolve_stack

        resolve = resolve_stack
    installed = driver_branch(installed_version)

    def _d(action: Action, branch: str | None, reason: str, **more: Any) -> DriverDecision:
        return DriverDecision(
            action, branch, reason, installed_version=installed_version, installed_branch=installed, **more
        )

    if not distribution or not release:
        return _d(
            "resolved",
            None,
            "the OS release is unknown (no facts, no `os` declared): "
            "the driver role installs the branch the preflight resolved",
        )
    targets, unknown = gpu_targets(plan)
    if unknown:
        return _d(
            "resolved",
            None,
            f"{', '.join(unknown)} not in the catalogue: the driver role "
            "installs the branch the preflight resolved",
        )
    cards = _cards(plan)
    pins = dict(plan.stack_pins)
    fresh = resolve(distribution, release, targets, pins, host=plan.name)
    newest = fresh.versions.get("driver") if fresh.ok else None
    if installed is None:
        if not fresh.ok:
            return _d("install", None, "; ".join(fresh.problems))
        return _d(
            "install",
            newest,
            f"no NVIDIA driver answers on the host: install branch "
            f"{newest}, the newest packaged for {distribution} {release} that serves {cards}",
            resolved_branch=newest,
            stack=dict(fresh.versions),
        )
    if "driver" in pins:
        pinned = driver_branch(pins["driver"]) or pins["driver"]
        action: Action = "keep" if pinned == installed else "upgrade"
        verb = "keeps" if action == "keep" else "moves to"
        return _d(
            action,
            pinned,
            f"the inventory pins driver {pins['driver']}: the host {verb} "
            f"branch {pinned} (installed {installed_version})",
            resolved_branch=newest,
            stack=dict(fresh.versions) if fresh.ok else {},
        )
    kept = resolve(distribution, release, targets, {**pins, "driver": installed}, host=plan.name)
    if kept.ok:
        newer = (
            f"; branch {newest} would be newer but nothing needs it" if newest and newest != installed else ""
        )
        return _d(
            "keep",
            installed,
            f"the installed driver {installed_version} (branch "
            f"{installed}) serves {cards} with CUDA {kept.versions.get('cuda')}: "
            f"no driver change{newer}",
            resolved_branch=newest,
            stack=dict(kept.versions),
        )
    if fresh.ok and newest and int(installed) > int(newest):
        # Installed from elsewhere, newer than anything the matrix packages here: never downgrade.
        return _d(
            "keep",
            installed,
            f"the installed driver {installed_version} is newer than "
            f"branch {newest}, the newest dlrig knows for {cards} on {distribution} "
            f"{release}: no downgrade, no driver change",
            resolved_branch=newest,
            stack={**fresh.versions, "driver": installed},
        )
    why = "; ".join(kept.problems) or f"branch {installed} cannot serve {cards}"
    if not fresh.ok:
        return _d(
            "upgrade",
            None,
            f"{why}; and no packaged driver serves them: " + "; ".join(fresh.problems),
            resolved_branch=None,
        )
    return _d(
        "upgrade",
        newest,
        f"upgrade branch {installed} -> {newest}: {why}",
        resolved_branch=newest,
        stack=dict(fresh.versions),
    )


# Keys an environment records that must match the resolved stack for it to still fit.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "pytorch": ("python", "torch", "torchvision", "torch_cuda_variant", "fastai"),
    "tensorflow": ("python", "tensorflow", "keras", "cuda"),
}


def _same(installed: Any, resolved: Any, key: str) -> bool:
    a, b = str(installed).strip(), str(resolved).strip()
    if key == "python":  # "3.11.9" installed fits "3.11" resolved
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")
    return a == b


def installed_versions(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """An environment's package versions (as its pip metadata says) in the stack's keys.

    ``{"torch": "2.5.1+cu121", "python": "3.11.9"}`` -> ``{"torch": "2.5.1", "torch_cuda_variant": "cu121",
    "python": "3.11.9"}``; a CPU build (``+cpu``) or a wheel without a local label records no variant.
    """
    out: dict[str, str] = {}
    for key, value in (raw or {}).items():
        if value in (None, ""):
            continue
        text = str(value).strip()
        if key in ("torch", "torchvision") and "+" in text:
            text, local = text.split("+", 1)
            if key == "torch" and re.fullmatch(r"cu\d+", local):
                out["torch_cuda_variant"] = local
        out[str(key)] = text
    return out


def stack_diff(installed: Mapping[str, Any] | None, resolved: Mapping[str, Any], env: str) -> list[str]:
    """``["torch 2.5.1 -> 2.7.1", ...]``: what the environment ``env`` has that the resolved stack changes.

    No record (an environment never built, or built before records existed) is a difference of its own.
    """
    if not installed:
        return [f"{env}: no record of what is installed"]
    diffs = []
    for key in ENV_KEYS.get(env, ()):
        want = resolved.get(key)
        have = installed.get(key)
        if want is None or have is None:
            continue
        if not _same(have, want, key):
            diffs.append(f"{key} {have} -> {want}")
    return diffs
