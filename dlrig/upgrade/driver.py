"""Decisions of the GPU-upgrade flow (``playbooks/upgrade-gpu.yml``), as pure functions.

- :func:`decide_driver`: keep the installed driver branch when it serves every declared GPU (the stack is
  re-resolved with that branch pinned), else upgrade to the branch the resolver picks for the new cards;
  install when no driver is there. When a declared card needs an older branch than the installed one (a
  Pascal card next to a Turing one on branch 595: 580 is Pascal's last), the decision is a **downgrade**
  to the newest branch that serves every card, which needs consent (``nvidia_driver_allow_downgrade:
  true`` or a driver pin in ``stack:``); without it the live preflight fails before any task runs. A
  branch newer than anything dlrig knows for the release (installed from elsewhere) is kept when the
  architectures' driver ranges say it serves every card. The decision carries the stack that goes with the
  chosen branch, so CUDA and the framework environments stay what the installed driver runs.
- :func:`stack_diff`: what differs between what an environment recorded at install time and the stack
  resolved now; an empty list means the environment still fits and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["keep", "upgrade", "downgrade", "install", "resolved"]

#: The inventory variable that consents to a driver downgrade (a driver pin in ``stack:`` consents too).
CONSENT_VAR = "nvidia_driver_allow_downgrade"


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
    #: Downgrade only: why the installed branch cannot stay ("GeForce GTX 1080 Ti is Pascal; 580 is its
    #: last branch"), what consents to it (None: nothing yet), and the stack the installed branch runs for
    #: the cards it serves (what the box had before the new card; CUDA and environments compare with it).
    forced_by: list[str] = field(default_factory=list)
    consent: str | None = None
    before: dict[str, str | None] = field(default_factory=dict)

    @property
    def needs_consent(self) -> bool:
        """A downgrade nobody consented to: the live preflight fails on it."""
        return self.action == "downgrade" and self.consent is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "needs_consent": self.needs_consent}


def driver_branch(version: str | None) -> str | None:
    """``535.183.01`` -> ``535``; None for no or an unreadable version."""
    if not version:
        return None
    match = re.match(r"^\s*(\d{3,4})(?:\.\d+)*\s*$", str(version))
    return match.group(1) if match else None


def gpu_targets(plan: Any) -> tuple[list[Any], list[str]]:
    """The resolver's view of the declared GPUs (as the preflight's ``stack`` check places them: a
    declared ``arch`` wins), and the models it cannot place (not catalogued, no ``arch``)."""
    from dlrig.stack.targets import gpu_targets as placed

    targets, unknown = placed(plan)
    return targets, [model for _, model in unknown]


def _cards(plan: Any) -> str:
    gpus = plan.hardware.gpus if plan.hardware is not None else []
    return " + ".join(f"{g.count}× {g.model}" for g in gpus) or "no GPU"


def allow_downgrade(plan: Any) -> bool:
    """The host's ``nvidia_driver_allow_downgrade`` (default false); anything but a boolean is bad input."""
    from dlrig.errors import InputError

    value = (getattr(plan, "raw", None) or {}).get(CONSENT_VAR, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise InputError(getattr(plan, "name", None), CONSENT_VAR, f"expected true or false, got {value!r}")


def release_branches(distribution: str, release: str) -> list[int]:
    """The driver branches the version matrix knows packaged for the release, newest first."""
    from dlrig.stack.matrix_file import load_matrix
    from dlrig.stack.resolver import find_os

    m = load_matrix()
    os_spec = find_os(m, distribution, release)
    return m.branches_for(os_spec)


def unserved(branch: str | int, targets: Sequence[Any]) -> list[str]:
    """Why ``branch`` cannot drive each of the ``targets`` it does not serve, by the architectures' driver
    ranges in the matrix: ``["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]``."""
    from dlrig.stack.matrix_file import load_matrix

    m = load_matrix()
    number = int(branch)
    out: list[str] = []
    for target in targets:
        cc = str(getattr(target, "compute_capability", "") or "").strip()
        arch = (m.arch_for_cc(cc) if cc else None) or m.arch(str(getattr(target, "arch", "") or ""))
        if arch is None:
            continue
        if arch.last_driver is not None and number > arch.last_driver:
            text = f"{target.name} is {arch.name}; {arch.last_driver} is its last branch"
        elif number < arch.first_driver:
            text = f"{target.name} is {arch.name}; it needs branch {arch.first_driver} or newer"
        else:
            continue
        if text not in out:
            out.append(text)
    return out


def consent_hint(decision: DriverDecision, host: str | None = None) -> str:
    """The sentence a person reads when a downgrade waits for consent: which card forces which branch,
    how to consent, or to take the card out."""
    why = "; ".join(decision.forced_by) or f"branch {decision.installed_branch} cannot serve the cards"
    cards = ", ".join(dict.fromkeys(f.split(" is ", 1)[0] for f in decision.forced_by)) or "the new card"
    where = f"host_vars/{host}.yml" if host else "the host's inventory"
    return (f"driver {decision.installed_branch} → {decision.branch} is a downgrade ({why}), and nothing "
            f"consents to it: set {CONSENT_VAR}: true in {where} (or -e {CONSENT_VAR}=true), or pin "
            f"stack: {{driver: \"{decision.branch}\"}}; or take the {cards} out of hardware.gpus and the box "
            f"to keep branch {decision.installed_branch}")


def decide_driver(
    plan: Any,
    installed_version: str | None,
    distribution: str | None,
    release: str | None,
    resolve: Callable[..., Any] | None = None,
    allow: bool | None = None,
) -> DriverDecision:
    """Keep, upgrade, downgrade or install the driver for the GPUs ``plan`` declares on this OS release.

    ``allow`` is the consent to a downgrade (default: the host's ``nvidia_driver_allow_downgrade``); a
    driver pin in ``stack:`` lower than the installed branch is consent of its own.
    """
    if resolve is None:
        from dlrig.stack import resolve as resolve_stack

        resolve = resolve_stack
    if allow is None:
        allow = allow_downgrade(plan)
    installed = driver_branch(installed_version)

    def decided(action: Action, branch: str | None, reason: str, **more: Any) -> DriverDecision:
        return DriverDecision(
            action, branch, reason, installed_version=installed_version, installed_branch=installed, **more
        )

    if not distribution or not release:
        return decided(
            "resolved",
            None,
            "the OS release is unknown (no facts, no `os` declared): "
            "the driver role installs the branch the preflight resolved",
        )
    targets, unknown = gpu_targets(plan)
    if unknown:
        return decided(
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
            return decided("install", None, "; ".join(fresh.problems))
        return decided(
            "install",
            newest,
            f"no NVIDIA driver answers on the host: install branch "
            f"{newest}, the newest packaged for {distribution} {release} that serves {cards}",
            resolved_branch=newest,
            stack=dict(fresh.versions),
        )

    def _before(blocked: Sequence[str]) -> dict[str, str | None]:
        """The stack the installed branch runs for the cards it serves (what the box had before)."""
        names = {b.split(" is ", 1)[0] for b in blocked}
        served = [t for t in targets if t.name not in names]
        try:
            was = resolve(distribution, release, served, {**pins, "driver": installed}, host=plan.name)
        except Exception:  # an odd pin: the comparison only loses its detail
            was = None
        return dict(was.versions) if was is not None and was.ok else {"driver": installed}

    if "driver" in pins:
        pinned = driver_branch(pins["driver"]) or pins["driver"]
        stack = dict(fresh.versions) if fresh.ok else {}
        if pinned.isdigit() and installed.isdigit() and int(pinned) < int(installed):
            blocked = unserved(installed, targets)
            return decided(
                "downgrade",
                pinned,
                f"the inventory pins driver {pins['driver']}: the host moves down from branch {installed} "
                f"(installed {installed_version}) to {pinned}, the pin consenting to the downgrade",
                resolved_branch=newest,
                stack=stack,
                forced_by=blocked,
                consent=f"stack.driver {pins['driver']} (pinned)",
                before=_before(blocked),
            )
        action: Action = "keep" if pinned == installed else "upgrade"
        verb = "keeps" if action == "keep" else "moves to"
        return decided(
            action,
            pinned,
            f"the inventory pins driver {pins['driver']}: the host {verb} "
            f"branch {pinned} (installed {installed_version})",
            resolved_branch=newest,
            stack=stack,
        )
    kept = resolve(distribution, release, targets, {**pins, "driver": installed}, host=plan.name)
    if kept.ok:
        newer = (
            f"; branch {newest} would be newer but nothing needs it" if newest and newest != installed else ""
        )
        return decided(
            "keep",
            installed,
            f"the installed driver {installed_version} (branch "
            f"{installed}) serves {cards} with CUDA {kept.versions.get('cuda')}: "
            f"no driver change{newer}",
            resolved_branch=newest,
            stack=dict(kept.versions),
        )
    known = release_branches(distribution, release)
    blocked = unserved(installed, targets)
    from_elsewhere = bool(known) and int(installed) > known[0]
    if fresh.ok and newest and from_elsewhere and not blocked:
        # Installed from elsewhere, newer than anything the matrix packages here, and every declared
        # card's architecture is still in its range: dlrig has no reason to touch it.
        return decided(
            "keep",
            installed,
            f"the installed driver {installed_version} is newer than branch {known[0]}, the newest dlrig "
            f"knows for {distribution} {release}, and serves {cards} (no declared card's architecture "
            f"ended before it): no driver change",
            resolved_branch=newest,
            stack={**fresh.versions, "driver": installed},
        )
    if fresh.ok and newest and int(installed) > int(newest):
        origin = (f"installed from elsewhere, newer than branch {known[0]}, the newest dlrig knows for "
                  f"{distribution} {release}; " if from_elsewhere else "")
        why = "; ".join(blocked) or "; ".join(kept.problems) or f"branch {installed} cannot serve {cards}"
        consent = f"{CONSENT_VAR}: true" if allow else None
        decision = decided(
            "downgrade",
            newest,
            f"downgrade branch {installed} -> {newest}: the installed driver {installed_version} ({origin}"
            f"{why}) cannot serve {cards}; {newest} is the newest branch packaged for {distribution} "
            f"{release} that serves them all",
            resolved_branch=newest,
            stack=dict(fresh.versions),
            forced_by=blocked,
            consent=consent,
            before=_before(blocked),
        )
        return decision
    why = "; ".join(kept.problems) or f"branch {installed} cannot serve {cards}"
    if not fresh.ok:
        return decided(
            "upgrade",
            None,
            f"{why}; and no packaged driver serves them: " + "; ".join(fresh.problems),
            resolved_branch=None,
        )
    return decided(
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


# --- what a driver decision changes, in words (the what-if, the live preflight, the upgrade summary) ---

ENV_LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}


def _arrow(diff: str) -> str:
    """``"torch_cuda_variant cu132 -> cu126"`` -> ``"cu132 → cu126"``; ``"cuda 13.2 -> 12.9"`` ->
    ``"CUDA 13.2 → 12.9"``."""
    key, _, change = diff.partition(" ")
    change = change.replace(" -> ", " → ")
    if key == "torch_cuda_variant":
        return change
    return f"{'CUDA' if key == 'cuda' else key} {change}"


def change_lines(decision: DriverDecision | Mapping[str, Any]) -> list[str]:
    """What the decision changes on the host, one line each: the driver (and why a downgrade), CUDA, and
    each framework environment rebuilt or kept; a downgrade ends with its consent (or how to give it).

    ``["driver 595 → 580 (downgrade: GeForce GTX 1080 Ti is Pascal; 580 is its last branch)",
    "CUDA 13.2 → 12.9", "PyTorch environment rebuilt (cu132 → cu126)", "TensorFlow environment rebuilt
    (CUDA 13.2 → 12.9)", ...]``. Only a downgrade or an upgrade lists CUDA and the environments.
    """
    d = decision.as_dict() if isinstance(decision, DriverDecision) else dict(decision)
    action, old, new = d.get("action"), d.get("installed_branch"), d.get("branch")
    if action == "keep":
        return [f"driver {new} kept"]
    if action not in ("downgrade", "upgrade") or not new:
        return [f"driver: {action} {new or ''}".rstrip()]
    forced = "; ".join(d.get("forced_by") or []) or (d.get("consent") or "")
    lines = [f"driver {old} → {new} ({action}{': ' + forced if action == 'downgrade' and forced else ''})"]
    before: Mapping[str, Any] = d.get("before") or {}
    after: Mapping[str, Any] = d.get("stack") or {}
    if before.get("cuda") and after.get("cuda"):
        same = before["cuda"] == after["cuda"]
        lines.append(f"CUDA {after['cuda']} kept" if same else f"CUDA {before['cuda']} → {after['cuda']}")
        for env, label in ENV_LABELS.items():
            diffs = stack_diff(before, after, env)
            lines.append(f"{label} environment rebuilt ({', '.join(_arrow(x) for x in diffs)})" if diffs
                         else f"{label} environment kept")
    elif after.get("cuda"):
        lines.append(f"CUDA {after['cuda']}; each framework environment is rebuilt where its build differs")
    if action == "downgrade":
        lines.append(f"consent: {d['consent']}" if d.get("consent") else
                     f"needs consent: {CONSENT_VAR}: true or stack: {{driver: \"{new}\"}}")
    return lines
