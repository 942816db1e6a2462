"""Choose the newest coherent driver / CUDA / cuDNN / Python / framework set for one host.

``resolve()`` takes plain values (the OS release, the GPUs' architectures, the inventory's pins) and
returns a ``Resolution``: the versions, or the problems a person can act on. Order of choice:

1. the newest driver branch NVIDIA packages for the release that supports every GPU (open kernel
   modules when a GPU needs them, never when a GPU cannot use them);
2. the newest CUDA toolkit that driver runs natively, that NVIDIA ships for the release and that
   every GPU architecture supports; cuDNN: the newest series packaged for that CUDA and release;
3. a Python: the system one when it reaches the same frameworks as any standalone CPython would,
   else a standalone CPython (python-build-standalone);
4. the newest torch whose wheels run on the release's glibc and that Python, with a CUDA build no
   newer than the toolkit that ships kernels for every GPU; torchvision paired with it; the newest
   fastai that accepts that torch; the newest TensorFlow likewise, and its Keras.

Pins (``stack: {cuda: "11.8", torch: "2.1.2"}``) narrow each step; an incoherent pin makes
``ok`` false with a problem that names the pin and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dlrig.errors import InputError
from dlrig.stack.frameworks import (
    Gpu,
    GpuTarget,
    matches,
    pick_frameworks,
    unique_gpus,
)
from dlrig.stack.matrix import (
    Architecture,
    CudaRelease,
    CudnnRelease,
    Matrix,
    OsSpec,
    minor,
    variant_cuda,
    vkey,
)
from dlrig.stack.matrix_file import load_matrix
from dlrig.stack.notes import resolution_notes
from dlrig.stack.releases import not_supported

__all__ = ["VERSION_KEYS", "GpuTarget", "Resolution", "find_os", "resolve", "supported_os_labels"]

VERSION_KEYS: tuple[str, ...] = (
    "driver", "driver_flavour", "cuda", "cudnn", "python", "torch", "torchvision",
    "torch_cuda_variant", "fastai", "tensorflow", "keras",
)


@dataclass
class Resolution:
    """The resolved set (``versions`` has exactly VERSION_KEYS; values None when not resolved)."""

    ok: bool
    versions: dict[str, str | None]
    apt_repo_path: str
    python_source: str | None  # "system" | "standalone"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---- public entry point -------------------------------------------------------------------------------


def resolve(
    distribution: str,
    release: str,
    gpus: Sequence[GpuTarget],
    pins: Mapping[str, str],
    host: str | None = None,
    matrix: Matrix | None = None,
) -> Resolution:
    """Resolve the stack for one host. Raises InputError for an unknown OS release or a malformed pin."""
    m = matrix or load_matrix()
    os_spec = find_os(m, distribution, release, host)
    clean = _clean_pins(pins, host)
    empty: dict[str, str | None] = dict.fromkeys(VERSION_KEYS)

    def fail(problems: list[str], notes: list[str] | None = None) -> Resolution:
        return Resolution(False, dict(empty), os_spec.apt_repo_path, None, problems, notes or [])

    known, problems = _map_gpus(m, gpus)
    if problems:
        return fail(problems)
    problems = _flavour_conflicts(known, clean.get("driver_flavour"))
    if problems:
        return fail(problems)

    drivers, problems = _driver_candidates(m, os_spec, known, clean.get("driver"))
    if problems:
        return fail(problems)

    cuda_reasons: list[str] = []
    later_reasons: list[str] = []
    for branch in drivers:
        cudas, why = _cuda_candidates(m, os_spec, branch, known, clean.get("cuda"))
        if not cuda_reasons:
            cuda_reasons = why
        for cuda in cudas:
            cudnn, why_cudnn = _pick_cudnn(m, os_spec, cuda, clean.get("cudnn"))
            if cudnn is None:
                later_reasons = later_reasons or [why_cudnn]
                continue
            picked, why_fw = pick_frameworks(m, os_spec, cuda.version, known, clean)
            if picked is None:
                # The newest driver/CUDA pair that got this far explains the failure best.
                later_reasons = why_fw if not later_reasons or "cuDNN" in later_reasons[0] else later_reasons
                continue
            flavour = _flavour(branch, known, clean.get("driver_flavour"))
            versions: dict[str, str | None] = {
                "driver": str(branch), "driver_flavour": flavour, "cuda": cuda.version,
                "cudnn": cudnn.series, "python": picked.python, "torch": picked.torch,
                "torchvision": picked.torchvision, "torch_cuda_variant": picked.variant,
                "fastai": picked.fastai, "tensorflow": picked.tensorflow, "keras": picked.keras,
            }
            notes = resolution_notes(m, os_spec, branch, cuda.version, known, picked, flavour, clean)
            return Resolution(True, versions, os_spec.apt_repo_path, picked.source, [], notes)
    return fail(_dedupe(later_reasons or cuda_reasons) or [f"no coherent stack for {os_spec.label}"])


def find_os(m: Matrix, distribution: str, release: str, host: str | None = None) -> OsSpec:
    """The matrix row of an OS release, or InputError naming ``os.release`` and the supported ones."""
    spec = m.find_os(str(distribution), str(release))
    if spec is not None:
        return spec
    known_dist = {o.distribution.lower() for o in m.os_releases}
    path = "os.release" if str(distribution).strip().lower() in known_dist else "os.distribution"
    raise InputError(host, path, not_supported(m, str(distribution), str(release)))


def supported_os_labels(m: Matrix, gpus: Sequence[GpuTarget]) -> list[OsSpec]:
    """The OS releases on which NVIDIA ships a driver and a CUDA for all these GPUs."""
    known, problems = _map_gpus(m, gpus)
    if problems or _flavour_conflicts(known, None):
        return []
    out = []
    for os_spec in m.os_releases:
        drivers = _serving_branches(m, os_spec, known)
        if any(_cuda_candidates(m, os_spec, d, known, None)[0] for d in drivers):
            out.append(os_spec)
    return out


# ---- pins -------------------------------------------------------------------------------------------


def _clean_pins(pins: Mapping[str, str], host: str | None) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in (pins or {}).items():
        name = str(key).strip().lower()
        if name not in VERSION_KEYS:
            raise InputError(host, f"stack.{key}", f"unknown pin; pinnable: {', '.join(VERSION_KEYS)}")
        if value is None or isinstance(value, bool):
            raise InputError(host, f"stack.{key}", f"expected a version string, got {value!r}")
        text = str(value).strip()
        if name == "driver_flavour":
            if text not in ("open", "proprietary"):
                raise InputError(host, "stack.driver_flavour", f"expected open or proprietary, got {text!r}")
        elif name == "torch_cuda_variant":
            try:
                variant_cuda(text)
            except ValueError:
                raise InputError(host, "stack.torch_cuda_variant",
                                 f"expected cpu or cuNNN (e.g. cu126), got {text!r}") from None
        else:
            try:
                vkey(text)
            except ValueError:
                raise InputError(host, f"stack.{key}",
                                 f"expected a version like '12.4' or '2.1.2', got {value!r}") from None
        clean[name] = text
    return clean


# ---- GPUs and the driver ---------------------------------------------------------------------------


def _map_gpus(m: Matrix, gpus: Sequence[GpuTarget]) -> tuple[list[Gpu], list[str]]:
    known: list[Gpu] = []
    problems: list[str] = []
    for gpu in gpus:
        cc = str(gpu.compute_capability or "").strip()
        arch = m.arch_for_cc(cc) if cc else None
        arch = arch or m.arch(str(gpu.arch or ""))
        if arch is None:
            names = ", ".join(a.name for a in m.architectures)
            problems.append(f"{gpu.name}: unknown architecture {gpu.arch!r} (compute capability "
                            f"{cc or '?'}); the version matrix knows {names}")
            continue
        known.append(Gpu(gpu, arch, cc or arch.compute_capabilities[0]))
    return known, problems


def _flavour_conflicts(gpus: Sequence[Gpu], pinned: str | None) -> list[str]:
    need_open = unique_gpus([g for g in gpus if g.arch.open_modules == "required"])
    no_open = unique_gpus([g for g in gpus if g.arch.open_modules == "none"])
    if need_open and no_open:
        return [f"{', '.join(g.label for g in need_open)} works only with the open kernel modules, which do "
                f"not support {', '.join(g.label for g in no_open)}; one driver cannot serve both: put them "
                f"in different hosts"]
    if pinned == "proprietary" and need_open:
        return [f"driver_flavour proprietary (pinned): {need_open[0].label} works only with the open "
                f"kernel modules"]
    if pinned == "open" and no_open:
        return [f"driver_flavour open (pinned): the open kernel modules support Turing and newer, not "
                f"{no_open[0].label}"]
    return []


def _flavour(branch: int, gpus: Sequence[Gpu], pinned: str | None) -> str:
    if pinned:
        return pinned
    if any(g.arch.open_modules == "required" for g in gpus):
        return "open"
    if any(g.arch.open_modules == "none" for g in gpus):
        return "proprietary"
    return "open" if branch >= 560 else "proprietary"


def _driver_candidates(
    m: Matrix, os_spec: OsSpec, gpus: Sequence[Gpu], pin: str | None
) -> tuple[list[int], list[str]]:
    packaged = m.branches_for(os_spec)
    if pin is not None:
        branch = vkey(pin)[0]
        if branch not in {d.branch for d in m.driver_branches}:
            known = ", ".join(str(d.branch) for d in m.driver_branches)
            return [], [f"driver {pin} (pinned): unknown driver branch {branch}; the matrix knows {known}"]
        if branch not in packaged:
            return [], [f"driver {pin} (pinned): NVIDIA does not package branch {branch} for "
                        f"{os_spec.label}; packaged there: {_span(packaged)}"]
        bad = [g for g in unique_gpus(gpus) if not g.arch.served_by(branch)]
        if bad:
            return [], [f"driver {pin} (pinned): {g.label} needs {_driver_need(g.arch)}" for g in bad]
        return [branch], []
    candidates = _serving_branches(m, os_spec, gpus)
    if candidates:
        return candidates, []
    return [], _hardware_problems(m, os_spec, gpus)


def _serving_branches(m: Matrix, os_spec: OsSpec, gpus: Sequence[Gpu]) -> list[int]:
    return [b for b in m.branches_for(os_spec) if all(g.arch.served_by(b) for g in gpus)]


def _driver_need(arch: Architecture) -> str:
    if arch.last_driver is not None and arch.first_driver <= 410:
        return f"a driver from branch {arch.first_driver} to {arch.last_driver}"
    return f"driver ≥ {arch.first_driver}"


def _span(branches: Sequence[int]) -> str:
    ordered = sorted(branches)
    if not ordered:
        return "none"
    return str(ordered[0]) if len(ordered) == 1 else f"{ordered[0]}–{ordered[-1]}"


def _hardware_problems(m: Matrix, os_spec: OsSpec, gpus: Sequence[Gpu]) -> list[str]:
    """Why no packaged driver serves these GPUs on this release, card by card, with where it works."""
    packaged = m.branches_for(os_spec)
    top_branch = packaged[0] if packaged else 0
    problems = []
    for gpu in unique_gpus(gpus):
        arch = gpu.arch
        if any(arch.served_by(b) for b in packaged):
            continue
        first_cuda = m.first_cuda_for(arch, gpu.cc)
        open_text = " with the open kernel modules" if arch.open_modules == "required" else ""
        driver_missing = top_branch < arch.first_driver
        cuda_missing = os_spec.cuda_max is not None and vkey(os_spec.cuda_max) < vkey(first_cuda)
        if driver_missing and cuda_missing:
            shipped = "NVIDIA ships neither"
        elif driver_missing:
            shipped = f"NVIDIA ships no driver ≥ {arch.first_driver} (newest there: {top_branch})"
        else:
            shipped = f"the drivers NVIDIA ships ({_span(packaged)}) no longer support {arch.name}"
        where = _where_it_works(m, [GpuTarget(gpu.target.name, arch.name, gpu.cc)])
        problems.append(f"{gpu.label} needs driver ≥ {arch.first_driver}{open_text} and CUDA ≥ {first_cuda}; "
                        f"{shipped} for {os_spec.label}{where}")
    if not problems:
        labels = ", ".join(g.label for g in unique_gpus(gpus))
        problems.append(f"no driver branch NVIDIA packages for {os_spec.label} supports all of {labels}; "
                        f"packaged there: {_span(packaged)}")
    return problems


def _where_it_works(m: Matrix, gpus: Sequence[GpuTarget]) -> str:
    good = supported_os_labels(m, gpus)
    if not good:
        return ""
    ubuntu = [o for o in m.os_releases if o.distribution == "Ubuntu"]
    good_ubuntu = [o for o in good if o.distribution == "Ubuntu"]
    parts = []
    if good_ubuntu and good_ubuntu == ubuntu[len(ubuntu) - len(good_ubuntu):]:
        parts.append(f"{good_ubuntu[0].label} or newer")
    else:
        parts.extend(o.label for o in good_ubuntu)
    parts.extend(o.label for o in good if o.distribution != "Ubuntu")
    return "; use " + " or ".join(parts)


# ---- CUDA and cuDNN ---------------------------------------------------------------------------------


def _cuda_ok_for(m: Matrix, cuda: str, gpu: Gpu) -> bool:
    v = vkey(cuda)
    if v < vkey(m.first_cuda_for(gpu.arch, gpu.cc)):
        return False
    return gpu.arch.last_cuda is None or v <= vkey(gpu.arch.last_cuda)


def _in_os(os_spec: OsSpec, cuda: str) -> bool:
    v = vkey(cuda)
    return v >= vkey(os_spec.cuda_min) and (os_spec.cuda_max is None or v <= vkey(os_spec.cuda_max))


def _cuda_candidates(
    m: Matrix, os_spec: OsSpec, branch: int, gpus: Sequence[Gpu], pin: str | None
) -> tuple[list[CudaRelease], list[str]]:
    found = [
        c for c in reversed(m.cuda_releases)
        if c.branch <= branch and _in_os(os_spec, c.version) and matches(pin, c.version)
        and all(_cuda_ok_for(m, c.version, g) for g in gpus)
    ]
    if found or pin is None:
        return found, [] if found else [f"driver {branch}: no CUDA toolkit on {os_spec.label} fits every GPU"]
    rows = [c for c in m.cuda_releases if matches(pin, c.version)]
    if not rows:
        known = ", ".join(c.version for c in m.cuda_releases)
        return [], [f"cuda {pin} (pinned): unknown CUDA release; the matrix knows {known}"]
    cuda = rows[-1]
    if not _in_os(os_spec, cuda.version):
        upper = f"up to {os_spec.cuda_max}" if os_spec.cuda_max else "and newer"
        return [], [f"cuda {pin} (pinned): NVIDIA's {os_spec.apt_repo_path} repository carries CUDA "
                    f"{os_spec.cuda_min} {upper}"]
    if cuda.branch > branch:
        return [], [f"cuda {pin} (pinned): needs driver ≥ {cuda.min_driver}; the driver here is {branch}"]
    for gpu in gpus:
        if not _cuda_ok_for(m, cuda.version, gpu):
            first = m.first_cuda_for(gpu.arch, gpu.cc)
            if vkey(cuda.version) < vkey(first):
                return [], [f"cuda {pin} (pinned): {gpu.label} needs CUDA ≥ {first}"]
            return [], [f"cuda {pin} (pinned): CUDA {minor(cuda.version).split('.')[0]}.x dropped "
                        f"{gpu.arch.name}; {gpu.label} needs CUDA ≤ {gpu.arch.last_cuda}"]
    return [], [f"cuda {pin} (pinned): not available with driver {branch}"]


def _pick_cudnn(
    m: Matrix, os_spec: OsSpec, cuda: CudaRelease, pin: str | None
) -> tuple[CudnnRelease | None, str]:
    v = vkey(cuda.version)
    fits = [
        c for c in m.cudnn_releases
        if os_spec.apt_repo_path in c.os and v >= vkey(c.cuda_min)
        and (c.cuda_max is None or v <= vkey(c.cuda_max))
    ]
    if pin is not None:
        fits = [c for c in fits if matches(c.series, pin) or matches(pin, c.series)]
    if fits:
        return max(fits, key=lambda c: vkey(c.series)), ""
    if pin is not None:
        return None, (f"cudnn {pin} (pinned): NVIDIA packages no cuDNN {pin} for CUDA {cuda.version} "
                      f"on {os_spec.label}")
    return None, f"no cuDNN packaged for CUDA {cuda.version} on {os_spec.label}"


def _dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
