"""Python and framework choice for one OS release, CUDA toolkit and set of GPUs (used by the resolver).

For each candidate Python (the system one and the standalone versions): the newest torch whose wheels
run on the release's glibc and that Python, with a CUDA build no newer than the toolkit that has kernels
for every GPU; the newest fastai that accepts it; the newest TensorFlow that fits, and its Keras.
Every ``*_problems`` function says why a release does not fit, for messages and notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dlrig.stack.matrix import (
    Architecture,
    FastaiRelease,
    Matrix,
    OsSpec,
    TensorflowRelease,
    TorchRelease,
    Version,
    minor,
    variant_cuda,
    vkey,
)


@dataclass(frozen=True)
class GpuTarget:
    """One GPU as the resolver needs it: a name for messages, its architecture and compute capability."""

    name: str
    arch: str
    compute_capability: str


@dataclass(frozen=True)
class Gpu:
    target: GpuTarget
    arch: Architecture
    cc: str

    @property
    def label(self) -> str:
        return f"{self.target.name} ({self.arch.name}, sm_{self.cc.replace('.', '')})"


@dataclass(frozen=True)
class Frameworks:
    python: str
    source: str
    torch: str
    torchvision: str
    variant: str
    fastai: str
    tensorflow: str
    keras: str

    @property
    def score(self) -> tuple[Version, Version, Version]:
        return vkey(self.torch), vkey(self.fastai), vkey(self.tensorflow)


def matches(pin: str | None, version: str) -> bool:
    """A pin matches a version when it equals it or is a prefix of it ("2.1" matches "2.1.2")."""
    if pin is None:
        return True
    p, v = vkey(pin), vkey(version)
    return v[: len(p)] == p


def unique_gpus(gpus: Sequence[Gpu]) -> list[Gpu]:
    seen: dict[str, Gpu] = {}
    for gpu in gpus:
        seen.setdefault(gpu.label, gpu)
    return list(seen.values())


def python_candidates(m: Matrix, os_spec: OsSpec, pin: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    standalone = m.python_standalone
    usable = [v for v in standalone.versions if vkey(os_spec.glibc) >= vkey(standalone.glibc_min)]
    if pin is None:
        return [(os_spec.system_python, "system")] + [(v, "standalone") for v in usable], []
    if matches(pin, os_spec.system_python) or matches(os_spec.system_python, pin):
        return [(os_spec.system_python, "system")], []
    chosen = [v for v in usable if matches(pin, v) or matches(v, pin)]
    if chosen:
        return [(chosen[-1], "standalone")], []
    return [], [f"python {pin} (pinned): {os_spec.label} has Python {os_spec.system_python}, and dlrig "
                f"installs {standalone.provider} builds of {', '.join(usable)} only (pinned with their "
                f"checksums in roles/python_runtime)"]


def _in_range(python: str, bounds: tuple[str, str]) -> bool:
    v = vkey(minor(python))
    return vkey(bounds[0]) <= v <= vkey(bounds[1])


def _torch_variants(m: Matrix, row: TorchRelease, cuda: str, gpus: Sequence[Gpu],
                    pin: str | None) -> list[str]:
    limit = vkey(cuda)
    out = []
    for variant in row.variants:
        vc = variant_cuda(variant)
        if vc is None or vc > limit or (pin is not None and variant != pin):
            continue
        archs = m.torch_archs(row.version, variant)
        if all(g.arch.name in archs for g in gpus):
            out.append(variant)
    if pin == "cpu":
        out.append("cpu")
    return sorted(out, key=lambda v: variant_cuda(v) or (0,))


def torch_problems(m: Matrix, row: TorchRelease, python: str, os_spec: OsSpec, cuda: str,
                    gpus: Sequence[Gpu], variant_pin: str | None) -> list[str]:
    """Why a torch release does not fit (empty when it does)."""
    why = []
    if vkey(os_spec.glibc) < vkey(row.glibc_min):
        why.append(f"its wheels need glibc ≥ {row.glibc_min} (manylinux_{row.glibc_min.replace('.', '_')}); "
                   f"{os_spec.label} has glibc {os_spec.glibc}")
    if not _in_range(python, row.python):
        why.append(f"it supports Python {row.python[0]}–{row.python[1]}, not {minor(python)}")
    if not _torch_variants(m, row, cuda, gpus, variant_pin):
        builds = ", ".join(row.variants)
        fitting = [v for v in row.variants if (variant_cuda(v) or (0,)) <= vkey(cuda)]
        if not fitting:
            why.append(f"it has no CUDA build ≤ {cuda} (it ships {builds})")
        else:
            cards = [g.label for g in unique_gpus(gpus)
                     if not any(g.arch.name in m.torch_archs(row.version, v) for v in fitting)]
            target = ", ".join(cards) if cards else "these GPUs together"
            pinned = f" {variant_pin}" if variant_pin else ""
            why.append(f"none of its{pinned} CUDA builds ≤ {cuda} ({', '.join(fitting)}) has kernels "
                       f"for {target}")
    return why


def _torch_patch(row: TorchRelease, pins: Mapping[str, str]) -> str | None:
    """The torch patch release of a row that satisfies the torch and torchvision pins (newest first)."""
    for patch in sorted(row.patches, key=vkey, reverse=True):
        if matches(pins.get("torch"), patch) and matches(pins.get("torchvision"), row.patches[patch]):
            return patch
    return None


def _torch_options(m: Matrix, python: str, os_spec: OsSpec, cuda: str, gpus: Sequence[Gpu],
                   pins: Mapping[str, str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Every torch release that fits, newest first, as (torch, torchvision, CUDA variant)."""
    pin, vision_pin = pins.get("torch"), pins.get("torchvision")
    rows = [r for r in reversed(m.torch_releases) if _torch_patch(r, pins) is not None]
    if not rows:
        if pin is not None and vision_pin is not None:
            pairs = [f"torch {p} pairs with torchvision {v}" for r in m.torch_releases
                     for p, v in r.patches.items() if matches(pin, p)]
            if pairs:
                return [], [f"torchvision {vision_pin} (pinned): {'; '.join(pairs)}"]
        what = f"torch {pin}" if pin is not None else f"torchvision {vision_pin}"
        known = ", ".join(r.version for r in m.torch_releases)
        return [], [f"{what} (pinned): unknown release; the matrix knows torch {known}"]
    options = []
    for row in rows:
        if torch_problems(m, row, python, os_spec, cuda, gpus, pins.get("torch_cuda_variant")):
            continue
        variants = _torch_variants(m, row, cuda, gpus, pins.get("torch_cuda_variant"))
        patch = _torch_patch(row, pins) or row.version
        options.append((patch, row.patches[patch], variants[-1]))
    if options:
        return options, []
    if pin is not None or vision_pin is not None:
        why = torch_problems(m, rows[0], python, os_spec, cuda, gpus, pins.get("torch_cuda_variant"))
        what = f"torch {pin}" if pin is not None else f"torchvision {vision_pin}"
        return [], [f"{what} (pinned): {w}" for w in why]
    return [], [f"no torch release fits Python {minor(python)} with CUDA ≤ {cuda} on {os_spec.label}"]


def _fastai_fits(row: FastaiRelease, python: str, torch: str) -> bool:
    t = vkey(minor(torch))
    return (vkey(minor(python)) >= vkey(row.python_min)
            and vkey(row.torch_min) <= t < vkey(row.torch_below))


def _pick_fastai(m: Matrix, python: str, torch: str, pin: str | None) -> tuple[str | None, list[str]]:
    if pin is not None:
        governing = [r for r in m.fastai_releases if vkey(r.version) <= vkey(pin)]
        if not governing:
            return None, [f"fastai {pin} (pinned): older than any release the matrix knows"]
        row = governing[-1]
        if _fastai_fits(row, python, torch):
            return pin, []
        return None, [f"fastai {pin} (pinned): it needs Python ≥ {row.python_min} and torch ≥ "
                      f"{row.torch_min}, < {row.torch_below} (resolved: Python {minor(python)}, "
                      f"torch {torch})"]
    for row in reversed(m.fastai_releases):
        if _fastai_fits(row, python, torch):
            return row.version, []
    return None, [f"no fastai release accepts torch {torch} on Python {minor(python)}"]


def tf_problems(row: TensorflowRelease, python: str, os_spec: OsSpec, cuda: str,
                 gpus: Sequence[Gpu]) -> list[str]:
    why = []
    if not _in_range(python, row.python):
        why.append(f"it supports Python {row.python[0]}–{row.python[1]}, not {minor(python)}")
    if vkey(os_spec.glibc) < vkey(row.glibc_min):
        why.append(f"its wheels need glibc ≥ {row.glibc_min}; {os_spec.label} has {os_spec.glibc}")
    if vkey(row.cuda) > vkey(cuda):
        why.append(f"it is built for CUDA {row.cuda}, newer than the CUDA {cuda} here")
    old = [g.label for g in unique_gpus(gpus) if vkey(g.cc) < vkey(row.min_compute_capability)]
    if old:
        why.append(f"it needs compute capability ≥ {row.min_compute_capability} ({', '.join(old)})")
    return why


def _keras_for(m: Matrix, tf: TensorflowRelease, python: str, pin: str | None) -> tuple[str | None, str]:
    if tf.keras == "tf.keras":
        bundled = f"{minor(tf.version)}.0"
        if pin is None or matches(pin, bundled):
            return bundled, ""
        return None, (f"keras {pin} (pinned): TensorFlow {tf.version} bundles Keras 2 (keras {bundled}); "
                      f"Keras 3 needs TensorFlow ≥ 2.16")
    floor = vkey(tf.keras_min or "3")
    if pin is not None:
        if vkey(pin)[0] != 3:
            return None, (f"keras {pin} (pinned): TensorFlow {tf.version} ships Keras 3; for Keras 2 use the "
                          f"tf_keras package with TF_USE_LEGACY_KERAS=1, or pin tensorflow < 2.16")
        if vkey(pin) < floor[: len(vkey(pin))]:
            return None, f"keras {pin} (pinned): TensorFlow {tf.version} requires keras ≥ {tf.keras_min}"
        governing = [k for k in m.keras_releases if vkey(k.version) <= vkey(pin)]
        if governing and vkey(minor(python)) < vkey(governing[-1].python_min):
            return None, (f"keras {pin} (pinned): it needs Python ≥ {governing[-1].python_min}, "
                          f"not {minor(python)}")
        return pin, ""
    fits = [k for k in m.keras_releases
            if vkey(minor(python)) >= vkey(k.python_min) and vkey(k.version) >= floor]
    if fits:
        return fits[-1].version, ""
    return None, f"no Keras ≥ {tf.keras_min} supports Python {minor(python)}"


def _pick_tf(m: Matrix, python: str, os_spec: OsSpec, cuda: str, gpus: Sequence[Gpu],
             pins: Mapping[str, str]) -> tuple[tuple[str, str] | None, list[str]]:
    pin = pins.get("tensorflow")
    rows = [r for r in reversed(m.tensorflow_releases)
            if pin is None or matches(pin, r.version) or matches(minor(pin), r.version)]
    if pin is not None and not rows:
        known = ", ".join(r.version for r in m.tensorflow_releases)
        return None, [f"tensorflow {pin} (pinned): unknown release; the matrix knows {known}"]
    why_keras = ""
    for row in rows:
        if tf_problems(row, python, os_spec, cuda, gpus):
            continue
        keras, why = _keras_for(m, row, python, pins.get("keras"))
        if keras is None:
            why_keras = why_keras or why  # the newest TensorFlow that fits explains it best
            continue
        version = pin if pin is not None and len(vkey(pin)) == 3 else row.version
        return (version, keras), []
    if why_keras:
        return None, [why_keras]
    if pin is not None:
        problems = tf_problems(rows[0], python, os_spec, cuda, gpus)
        return None, [f"tensorflow {pin} (pinned): {w}" for w in problems]
    return None, [f"no TensorFlow release fits Python {minor(python)} with CUDA ≤ {cuda} on {os_spec.label}"]


def frameworks_for(m: Matrix, python: str, source: str, os_spec: OsSpec, cuda: str,
                    gpus: Sequence[Gpu], pins: Mapping[str, str]) -> tuple[Frameworks | None, list[str]]:
    options, why = _torch_options(m, python, os_spec, cuda, gpus, pins)
    if not options:
        return None, why
    fastai_why: list[str] = []
    for torch, vision, variant in options:  # the newest torch a (pinned) fastai accepts
        fastai, why = _pick_fastai(m, python, torch, pins.get("fastai"))
        if fastai is None:
            fastai_why = fastai_why or why
            continue
        tf, why = _pick_tf(m, python, os_spec, cuda, gpus, pins)
        if tf is None:
            return None, why
        return Frameworks(python, source, torch, vision, variant, fastai, tf[0], tf[1]), []
    return None, fastai_why


def pick_frameworks(m: Matrix, os_spec: OsSpec, cuda: str, gpus: Sequence[Gpu],
                     pins: Mapping[str, str]) -> tuple[Frameworks | None, list[str]]:
    pythons, why = python_candidates(m, os_spec, pins.get("python"))
    if not pythons:
        return None, why
    found: list[Frameworks] = []
    reasons: list[list[str]] = []
    for python, source in pythons:
        picked, why = frameworks_for(m, python, source, os_spec, cuda, gpus, pins)
        if picked is None:
            reasons.append(why)
        else:
            found.append(picked)
    if not found:
        common = [r for r in reasons[0] if all(r in other for other in reasons[1:])]
        preferred = next((r for (p, _), r in zip(pythons, reasons, strict=True)
                          if p == m.python_standalone.preferred), reasons[0])
        found_why = common or preferred
        pin = pins.get("python")
        if pin is not None:
            found_why = [w if "(pinned)" in w else f"python {pin} (pinned): {w}" for w in found_why]
        return None, found_why
    best = max(f.score for f in found)
    tied = [f for f in found if f.score == best]
    for choice in (
        lambda f: f.source == "system",
        lambda f: f.python == m.python_standalone.preferred,
    ):
        match = [f for f in tied if choice(f)]
        if match:
            return match[0], []
    return max(tied, key=lambda f: vkey(f.python)), []
