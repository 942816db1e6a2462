"""The version matrix (dlrig/data/matrix.yml) as typed data: its rows and the look-ups the resolver
makes. Reading and validating the YAML is :mod:`dlrig.stack.matrix_file`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

Version = tuple[int, ...]


class MatrixError(ValueError):
    """The matrix file itself is wrong (a bug in dlrig's data, not in the user's inventory)."""


@lru_cache(maxsize=4096)
def vkey(text: str) -> Version:
    """``"12.8"`` -> ``(12, 8)``; ``"2.14.1"`` -> ``(2, 14, 1)``. Raises ValueError on anything else."""
    parts = str(text).strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts)


def minor(text: str) -> str:
    """``"2.14.1"`` -> ``"2.14"``."""
    return ".".join(str(text).split(".")[:2])


def variant_cuda(variant: str) -> Version | None:
    """``"cu126"`` -> ``(12, 6)``; ``"cu102"`` -> ``(10, 2)``; ``"cpu"`` -> None."""
    if variant == "cpu":
        return None
    digits = variant.removeprefix("cu")
    if not variant.startswith("cu") or not digits.isdigit() or len(digits) < 3:
        raise ValueError(f"not a torch CUDA variant: {variant!r}")
    return (int(digits[:-1]), int(digits[-1]))


def cuda_variant(version: str) -> str:
    """``"12.6"`` -> ``"cu126"``."""
    major, minor_ = vkey(version)[:2]
    return f"cu{major}{minor_}"


@dataclass(frozen=True)
class OsSpec:
    distribution: str
    release: str
    codename: str
    glibc: str
    system_python: str
    apt_repo_path: str
    cuda_min: str
    cuda_max: str | None
    source: str
    verified: bool

    @property
    def label(self) -> str:
        return f"{self.distribution} {self.release}"


@dataclass(frozen=True)
class Architecture:
    name: str
    compute_capabilities: tuple[str, ...]
    first_cuda: str
    last_cuda: str | None
    first_driver: int
    last_driver: int | None
    open_modules: str  # none | available | required
    source: str
    verified: bool

    def served_by(self, branch: int) -> bool:
        """Whether driver ``branch`` runs this architecture."""
        return branch >= self.first_driver and (self.last_driver is None or branch <= self.last_driver)


@dataclass(frozen=True)
class CudaRelease:
    version: str
    min_driver: str
    source: str
    verified: bool

    @property
    def branch(self) -> int:
        return int(self.min_driver.split(".")[0])


@dataclass(frozen=True)
class DriverBranch:
    branch: int
    os: tuple[str, ...]
    install: str  # how the branch is selected in NVIDIA's repository ({branch} / {version} placeholders)
    source: str
    verified: bool


@dataclass(frozen=True)
class CudnnRelease:
    series: str
    cuda_min: str
    cuda_max: str | None
    os: tuple[str, ...]
    package: str
    source: str
    verified: bool


@dataclass(frozen=True)
class PythonStandalone:
    provider: str
    url_default: str
    glibc_min: str
    versions: tuple[str, ...]
    preferred: str
    source: str


@dataclass(frozen=True)
class TorchRelease:
    version: str
    python: tuple[str, str]
    variants: tuple[str, ...]
    glibc_min: str
    patches: Mapping[str, str]
    source: str
    verified: bool


@dataclass(frozen=True)
class TorchVariantArchs:
    variants: tuple[str, ...]
    torch_min: str
    torch_max: str | None
    archs: tuple[str, ...]
    source: str
    verified: bool


@dataclass(frozen=True)
class FastaiRelease:
    version: str
    python_min: str
    torch_min: str
    torch_below: str
    source: str
    verified: bool


@dataclass(frozen=True)
class TensorflowRelease:
    version: str
    python: tuple[str, str]
    cuda: str
    cudnn: str
    glibc_min: str
    min_compute_capability: str
    keras: str  # "tf.keras" (Keras 2 bundled) or "3"
    keras_min: str | None  # the lowest Keras 3 this TensorFlow requires
    source: str
    verified: bool


@dataclass(frozen=True)
class KerasRelease:
    version: str
    python_min: str
    source: str
    verified: bool


@dataclass(frozen=True)
class Matrix:
    os_releases: tuple[OsSpec, ...]
    architectures: tuple[Architecture, ...]
    cc_first_cuda: Mapping[str, str]
    cuda_releases: tuple[CudaRelease, ...]
    driver_branches: tuple[DriverBranch, ...]
    cudnn_releases: tuple[CudnnRelease, ...]
    python_standalone: PythonStandalone
    torch_releases: tuple[TorchRelease, ...]
    torch_variant_archs: tuple[TorchVariantArchs, ...]
    fastai_releases: tuple[FastaiRelease, ...]
    tensorflow_releases: tuple[TensorflowRelease, ...]
    keras_releases: tuple[KerasRelease, ...]

    def branches_for(self, os_spec: OsSpec) -> list[int]:
        """The driver branches packaged for a release, newest first."""
        return sorted((d.branch for d in self.driver_branches if os_spec.apt_repo_path in d.os), reverse=True)

    def find_os(self, distribution: str, release: str) -> OsSpec | None:
        """The release by distribution and version or codename; "22.04.3" and Debian's "12.5" match too."""
        dist = distribution.strip().lower()
        rel = str(release).strip().lower()
        parts = rel.split(".")
        wanted = [rel, ".".join(parts[:2])] + ([parts[0]] if dist == "debian" else [])
        for candidate in wanted:
            for spec in self.os_releases:
                if spec.distribution.lower() == dist and candidate in (spec.release.lower(), spec.codename):
                    return spec
        return None

    def arch(self, name: str) -> Architecture | None:
        wanted = name.strip().lower()
        for arch in self.architectures:
            if wanted == arch.name.lower() or wanted.startswith(arch.name.lower() + " "):
                return arch
        return None

    def arch_for_cc(self, cc: str) -> Architecture | None:
        for arch in self.architectures:
            if cc in arch.compute_capabilities:
                return arch
        return None

    def first_cuda_for(self, arch: Architecture, cc: str | None) -> str:
        if cc and cc in self.cc_first_cuda:
            return self.cc_first_cuda[cc]
        return arch.first_cuda

    def torch_archs(self, torch: str, variant: str) -> tuple[str, ...]:
        """Architectures a torch release's CUDA variant ships kernels for (empty when unknown)."""
        version = vkey(minor(torch))
        for rule in self.torch_variant_archs:
            if variant not in rule.variants or version < vkey(rule.torch_min):
                continue
            if rule.torch_max is not None and version > vkey(rule.torch_max):
                continue
            return rule.archs
        return ()
