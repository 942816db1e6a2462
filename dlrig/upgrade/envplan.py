"""What a driver change does to the framework environments, told from the locks the roles would choose.

A framework environment is rebuilt when the lock its role installs changes, and kept when it does not. The
roles name the lock from the resolved stack exactly as :func:`dlrig.locks.pytorch_lock` and
:func:`dlrig.locks.tensorflow_lock` do: PyTorch's carries the CUDA variant of its wheels (``cu132`` ->
``cu126`` after a downgrade to 580), TensorFlow's does not (``tensorflow[and-cuda]`` brings its own CUDA
libraries as wheels), so a change of the system CUDA alone leaves the TensorFlow environment as it is. The
GPU-upgrade playbook decides the same way (it compares the environment's installed versions, which carry no
system CUDA, with the re-resolved stack: ``dlrig.rig.env_changes``).

Also: the kernel module flavour a driver change switches (``open`` -> ``proprietary`` for a Pascal card).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dlrig.errors import InputError
from dlrig.locks import pytorch_lock, tensorflow_lock

#: The environments, their labels, and the stack keys their lock is made of (in the order lines name them).
ENVIRONMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pytorch", "PyTorch", ("python", "torch", "torchvision", "torch_cuda_variant", "fastai")),
    ("tensorflow", "TensorFlow", ("python", "tensorflow", "keras")),
)


def lock_name(env: str, stack: Mapping[str, Any], gpus: bool = True) -> str | None:
    """The name of the lock the role of ``env`` would install for ``stack`` (None: the stack lacks a part
    of it, or a part is not a version the lock accepts). ``gpus``: the host declares GPUs (TensorFlow's
    ``cuda`` build; ``cpu`` otherwise)."""
    def get(key: str) -> str:
        value = stack.get(key)
        if value in (None, ""):
            raise KeyError(key)
        return str(value).strip()

    try:
        if env == "pytorch":
            return pytorch_lock(get("python"), get("torch"), get("torchvision"), get("fastai"),
                                get("torch_cuda_variant")).name
        if env == "tensorflow":
            variant = "cuda" if gpus else "cpu"
            return tensorflow_lock(get("python"), get("tensorflow"), get("keras"), variant).name
    except (KeyError, InputError):
        return None
    return None


@dataclass(frozen=True)
class EnvironmentPlan:
    """One framework environment across a driver change: rebuilt (its lock changes) or kept."""

    env: str
    label: str
    action: Literal["rebuilt", "kept"]
    lock_before: str | None
    lock_after: str | None
    #: What changes in the lock's inputs ("cu132 → cu126", "python 3.10 → 3.11"); empty when kept.
    changes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.action == "rebuilt":
            return f"{self.label} environment rebuilt ({', '.join(self.changes) or 'new lock'})"
        return f"{self.label} environment kept (same lock{': ' + self.lock_after if self.lock_after else ''})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _change(key: str, before: str, after: str) -> str:
    if key == "torch_cuda_variant":
        return f"{before} → {after}"
    return f"{key} {before} → {after}"


def environment_plans(
    before: Mapping[str, Any], after: Mapping[str, Any], gpus: bool = True
) -> list[EnvironmentPlan]:
    """Each framework environment across the change from the stack ``before`` to the stack ``after``.

    The lock names decide; when either cannot be named (a part of the stack unknown), an environment is
    rebuilt if any of its lock's inputs that both stacks name differs."""
    plans = []
    for env, label, keys in ENVIRONMENTS:
        old, new = lock_name(env, before, gpus), lock_name(env, after, gpus)
        changes = [
            _change(key, str(before[key]).strip(), str(after[key]).strip())
            for key in keys
            if before.get(key) not in (None, "") and after.get(key) not in (None, "")
            and str(before[key]).strip() != str(after[key]).strip()
        ]
        rebuilt = old != new if old is not None and new is not None else bool(changes)
        plans.append(EnvironmentPlan(env, label, "rebuilt" if rebuilt else "kept", old, new,
                                     changes if rebuilt else []))
    return plans


def flavour_line(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """``"kernel modules open → proprietary"`` when the driver change switches the module flavour."""
    old, new = before.get("driver_flavour"), after.get("driver_flavour")
    if old and new and old != new:
        return f"kernel modules {old} → {new}"
    return None


def decision_environments(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The environment plans of a driver decision (``DriverDecision.as_dict()``), for JSON: empty unless it
    changes the branch and both stacks are known."""
    before: Mapping[str, Any] = decision.get("before") or {}
    after: Mapping[str, Any] = decision.get("stack") or {}
    changes_branch = decision.get("action") in ("downgrade", "upgrade")
    if not changes_branch or not (before.get("cuda") and after.get("cuda")):
        return []
    return [plan.as_dict() for plan in environment_plans(before, after)]
