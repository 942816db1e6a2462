"""The prose beside a resolved stack: why a version is not the newest (the driver stops at an older
branch for an old card, torch stops because of glibc, ...), one sentence per note."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from dlrig.stack.frameworks import Frameworks, Gpu, frameworks_for, tf_problems, torch_problems, unique_gpus
from dlrig.stack.matrix import Matrix, OsSpec, minor, vkey


class _Release(Protocol):
    @property
    def version(self) -> str: ...


_R = TypeVar("_R", bound=_Release)


def _first_blocked(rows: Sequence[_R], chosen: str, why: Callable[[_R], list[str]]) -> str | None:
    """``"2.6.0: <reason>"`` for the first release newer than the chosen one, or None."""
    newer = [r for r in rows if vkey(r.version) > vkey(chosen)]
    if not newer:
        return None
    reasons = why(newer[0])
    return f"{newer[0].version}: {reasons[0]}" if reasons else None


def resolution_notes(m: Matrix, os_spec: OsSpec, branch: int, cuda: str, gpus: Sequence[Gpu],
                     picked: Frameworks, flavour: str, pins: Mapping[str, str]) -> list[str]:
    """Why a resolved version is not the newest there is, one sentence each (the check's ``notes``)."""
    notes = []
    newest = m.branches_for(os_spec)[0]
    if branch < newest and "driver" not in pins:
        old = [g.label for g in unique_gpus(gpus) if not g.arch.served_by(newest)]
        if old:
            notes.append(f"driver {branch} is the newest branch for {', '.join(old)}; NVIDIA's newer "
                         f"branches for {os_spec.label} (up to {newest}) no longer support it")
    capped = [g.label for g in unique_gpus(gpus)
              if g.arch.last_cuda is not None and vkey(cuda) == vkey(g.arch.last_cuda)]
    if capped and "cuda" not in pins:
        notes.append(f"CUDA {cuda} is the last toolkit for {', '.join(capped)}")
    if picked.source == "standalone":
        if "python" in pins:
            why = "the pinned version"
        else:
            system, failed = frameworks_for(m, os_spec.system_python, "system", os_spec, cuda, gpus, pins)
            why = (f"{os_spec.label}'s Python {os_spec.system_python} does not reach torch {picked.torch}, "
                   f"fastai {picked.fastai} and TensorFlow {picked.tensorflow}")
            if system is None and failed and "(pinned)" in failed[0]:
                why = f"with {os_spec.label}'s Python {os_spec.system_python}, {failed[0]}"
        notes.append(f"Python {picked.python} is a standalone CPython from {m.python_standalone.provider} "
                     f"(download URL a variable for mirrors): {why}")
    if "torch" not in pins:
        blocked = _first_blocked(m.torch_releases, picked.torch, lambda r: torch_problems(
            m, r, picked.python, os_spec, cuda, gpus, None))
        if blocked:
            notes.append(f"torch stops at {picked.torch} here; next release {blocked}")
    if "tensorflow" not in pins:
        blocked = _first_blocked(m.tensorflow_releases, picked.tensorflow, lambda r: tf_problems(
            r, picked.python, os_spec, cuda, gpus))
        if blocked:
            notes.append(f"TensorFlow stops at {picked.tensorflow} here; next release {blocked}")
    newest_keras = m.keras_releases[-1] if m.keras_releases else None
    if (newest_keras and vkey(picked.keras)[0] == 3 and "keras" not in pins
            and vkey(picked.keras) < vkey(newest_keras.version)):
        notes.append(f"Keras stops at {picked.keras} here; Keras {newest_keras.version} needs Python ≥ "
                     f"{newest_keras.python_min}")
    if not gpus:
        notes.append(f"no GPUs declared: driver {branch} and CUDA {cuda} are the newest NVIDIA ships for "
                     f"{os_spec.label}, and torch keeps its CUDA build ({picked.variant}) so adding a GPU "
                     f"later needs no reinstall")
    if any(g.arch.name == "Blackwell" for g in gpus):
        notes.append(f"TensorFlow {picked.tensorflow} is built for CUDA {_tf_cuda(m, picked.tensorflow)} "
                     f"without Blackwell kernels; it runs there through PTX JIT compilation "
                     f"(slow first start)")
    if flavour == "open":
        notes.append("open kernel modules (nvidia-open): NVIDIA's default from 560, required by Blackwell")
    return notes


def _tf_cuda(m: Matrix, version: str) -> str:
    for row in m.tensorflow_releases:
        if minor(row.version) == minor(version):
            return row.cuda
    return "?"
