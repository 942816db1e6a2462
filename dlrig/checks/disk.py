"""Live preflight: free disk space where the run writes, against what the resolved stack needs.

``check_disk(needs, mounts)`` compares what the run will write (environments, CUDA toolkits, the apt
cache of the packages it downloads) with the free space of the file system each location lives on, as
the host's ``ansible_mounts`` facts report it. Locations on one file system add up. It fails before
anything is installed, naming per file system how much is missing and what it is for.

The sizes are data, not code: ``dlrig/data/disk_sizes.yml`` records each committed lock's measured size
(``scripts/measure_disk_sizes.py``, from the wheels themselves) and the CUDA toolkit figures, each with how
it was obtained. ``needs_for(...)`` turns a stack (its lock names, its CUDA versions) into ``Need`` rows.

Registered as the live check ``disk_space`` (dlrig/checks/registry.py). It judges the host's ``mounts``
(the keys of ``ansible_mounts``) that detection puts in the facts (``dlrig.rig.hardware_facts`` runs ``df``,
for ``--live`` and the playbook's live preflight alike); without them it has no entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from dlrig.checks.registry import Context, live_check
from dlrig.result import CheckResult

DATA = Path(__file__).resolve().parents[1] / "data" / "disk_sizes.yml"
GB = 1_000_000_000


@dataclass(frozen=True)
class Need:
    """Bytes the run writes under ``path``; ``what`` and ``variable`` (the setting that moves it)."""

    what: str
    path: str
    bytes: int
    variable: str = ""


@lru_cache(maxsize=1)
def load_sizes(path: Path = DATA) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def gb(n: float) -> str:
    return f"{n / GB:.1f} GB"


def needs_for(locks: Iterable[str], cuda_versions: Iterable[str], *, envs_prefix: str = "/opt/dlrig/envs",
              cuda_prefix: str = "/usr/local", apt_cache: str = "/var/cache/apt/archives",
              cuda_present: Iterable[str] = (), sizes: Mapping[str, Any] | None = None,
              ) -> tuple[list[Need], list[str]]:
    """What the stack writes: each environment (by its lock's file name; staged beside the previous version,
    so its full size), each CUDA toolkit not yet installed and its packages in apt's cache. Also returns
    what could not be counted or only in part (for the message): data lacking, or a lower bound."""
    data = sizes if sizes is not None else load_sizes()
    envs = data.get("environments") or {}
    margin = float(data.get("environment_margin", 1.0))
    needs: list[Need] = []
    notes: list[str] = []
    for lock in locks:
        name = lock if lock.endswith(".txt") else f"{lock}.txt"
        entry = envs.get(name)
        if entry is None:
            notes.append(f"the environment of {name} (no measured size: a lock generated on demand)")
            continue
        needs.append(Need(f"the environment of {name}", envs_prefix,
                          int(int(entry["installed_bytes"]) * margin), "python_env_prefix"))
        if entry.get("not_measured"):
            notes.append(f"{len(entry['not_measured'])} packages of {name} (their size is not measured: "
                         "the figure is a lower bound)")
    toolkits = data.get("cuda_toolkits") or {}
    present = {str(v) for v in cuda_present}
    for version in (str(v) for v in cuda_versions):
        if version in present:
            continue
        entry = toolkits.get(version)
        if entry is None:
            notes.append(f"CUDA toolkit {version} (no measured size)")
            continue
        needs.append(Need(f"CUDA toolkit {version}", f"{cuda_prefix}/cuda-{version}",
                          int(entry["installed_bytes"])))
        needs.append(Need(f"the downloaded packages of CUDA {version}", apt_cache,
                          int(entry["download_bytes"]), "Dir::Cache::archives (apt)"))
    return needs, notes


def _mount_of(path: str, mounts: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    best: Mapping[str, Any] | None = None
    for m in mounts:
        point = str(m.get("mount", ""))
        if not point or "size_available" not in m:
            continue
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(str(best["mount"]))):
            best = m
    return best


def check_disk(needs: list[Need], mounts: list[Mapping[str, Any]], notes: Iterable[str] = ()) -> CheckResult:
    """``disk_space``: fail when a file system has less free space than the run writes onto it. ``notes``:
    what ``needs_for`` could not count (named in the message, so a pass is not read as more than it is)."""
    notes = list(notes)
    uncounted = f" Not counted: {'; '.join(notes)}." if notes else ""
    if not needs:
        return CheckResult("disk_space", "ok", "nothing measured to install: no disk space to check."
                           + uncounted, {"skipped": True, "not_counted": notes})
    if not mounts:
        return CheckResult("disk_space", "warn", "no mount facts gathered: free disk space not checked",
                           {"skipped": True})
    per_fs: dict[str, dict[str, Any]] = {}
    unplaced: list[str] = []
    for need in needs:
        mount = _mount_of(need.path, mounts)
        if mount is None:
            unplaced.append(need.path)
            continue
        fs = per_fs.setdefault(str(mount["mount"]),
                               {"free": int(mount["size_available"]), "need": 0, "for": []})
        fs["need"] += need.bytes
        fs["for"].append(need)
    figures: dict[str, Any] = {"not_counted": notes, "file_systems": {
        point: {"free_bytes": fs["free"], "needed_bytes": fs["need"],
                "for": [{"what": n.what, "path": n.path, "bytes": n.bytes} for n in fs["for"]]}
        for point, fs in per_fs.items()}}
    short = {p: fs for p, fs in per_fs.items() if fs["need"] > fs["free"]}
    if short:
        parts = []
        for point, fs in short.items():
            detail = ", ".join(f"{n.what} at {n.path} {gb(n.bytes)}" for n in fs["for"])
            moves = sorted({n.variable for n in fs["for"] if n.variable})
            hint = f"; or move it elsewhere ({', '.join(moves)})" if moves else ""
            parts.append(f"{gb(fs['need'] - fs['free'])} missing at {point}: the run writes {gb(fs['need'])} "
                         f"there ({detail}), {gb(fs['free'])} is free — free space on {point}{hint}")
        message = "; ".join(parts) + ". Nothing was installed." + uncounted
        return CheckResult("disk_space", "fail", message, figures)
    summary = ", ".join(f"{p}: {gb(fs['need'])} needed, {gb(fs['free'])} free" for p, fs in per_fs.items())
    if unplaced:
        message = f"{summary}; no mount found for {', '.join(unplaced)}.{uncounted}"
        return CheckResult("disk_space", "warn", message, figures)
    return CheckResult("disk_space", "ok", summary + "." + uncounted, figures)


def stack_locks(versions: Mapping[str, Any], gpus: bool) -> list[str]:
    """The committed lock file names the environment roles pick for these resolved versions (the same
    names as pytorch_env_lock_name / tensorflow_env_lock_name)."""
    v = {k: versions.get(k) for k in ("python", "torch", "torch_cuda_variant", "torchvision", "fastai",
                                       "tensorflow", "keras")}
    locks: list[str] = []
    if v["python"] and v["torch"] and v["torch_cuda_variant"] and v["torchvision"] and v["fastai"]:
        locks.append(f"py{v['python']}-torch{v['torch']}-{v['torch_cuda_variant']}"
                     f"-torchvision{v['torchvision']}-fastai{v['fastai']}.txt")
    if v["python"] and v["tensorflow"] and v["keras"]:
        variant = "cuda" if gpus else "cpu"
        locks.append(f"py{v['python']}-tensorflow{v['tensorflow']}-{variant}-keras{v['keras']}.txt")
    return locks


@live_check("disk_space", order=45)
def check_disk_live(ctx: Context) -> CheckResult | None:
    """Live: the host's mounts (``mounts`` in its facts, as ``ansible_mounts`` lists them) against the
    resolved stack's environments and CUDA toolkit; no entry when the facts carry no mounts."""
    mounts = (ctx.facts or {}).get("mounts")
    if not mounts:
        return None
    stack = next((r for r in ctx.results if r.id == "stack"), None)
    if stack is None and ctx.plan.os is not None:
        from dlrig.checks.stack import check_stack

        stack = check_stack(ctx.plan)
    if stack is None or stack.status == "fail":
        return None
    versions = stack.figures.get("versions") or {}
    gpus = bool(ctx.plan.hardware is not None and ctx.plan.hardware.gpus)
    cuda = [str(versions["cuda"])] if gpus and versions.get("cuda") else []
    needs, notes = needs_for(stack_locks(versions, gpus), cuda)
    return check_disk(needs, list(mounts), notes)
