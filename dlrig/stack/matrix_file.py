"""Read and validate dlrig/data/matrix.yml into :class:`dlrig.stack.matrix.Matrix`.

The YAML is the single source for the resolver, the support table in the README and the docs.
``load_matrix()`` validates it once (every entry carries a ``source``; versions parse; references
between sections resolve) and caches the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dlrig.stack.matrix import (
    Architecture,
    CudaRelease,
    CudnnRelease,
    DriverBranch,
    FastaiRelease,
    KerasRelease,
    Matrix,
    MatrixError,
    OsSpec,
    PythonStandalone,
    TensorflowRelease,
    TorchRelease,
    TorchVariantArchs,
    minor,
    variant_cuda,
    vkey,
)

MATRIX_PATH = Path(str(resources.files("dlrig") / "data" / "matrix.yml"))


def _need(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise MatrixError(f"{where}: missing {key!r}")
    return entry[key]


def _text(entry: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = entry.get(key) if optional else _need(entry, key, where)
    if value is None and optional:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise MatrixError(f"{where}.{key}: expected text, got {value!r}")
    return str(value)


def _version(entry: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = _text(entry, key, where, optional=optional)
    if value is None:
        return None
    try:
        vkey(value)
    except ValueError as exc:
        raise MatrixError(f"{where}.{key}: {exc}") from None
    return value


def _source(entry: Mapping[str, Any], where: str) -> tuple[str, bool]:
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise MatrixError(f"{where}: every entry needs a non-empty 'source'")
    verified = entry.get("verified", True)
    if not isinstance(verified, bool):
        raise MatrixError(f"{where}.verified: expected true or false")
    return source, verified


def _rows(raw: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
    rows = raw.get(key)
    if not isinstance(rows, list) or not rows:
        raise MatrixError(f"{key}: expected a non-empty list")
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MatrixError(f"{key}[{i}]: expected a mapping")
        out.append((f"{key}[{i}]", row))
    return out


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise MatrixError(f"{where}: expected a list of text")
    return tuple(str(v) for v in value)


def _range(value: Any, where: str) -> tuple[str, str]:
    pair = _strs(value, where)
    if len(pair) != 2 or vkey(pair[0]) > vkey(pair[1]):
        raise MatrixError(f"{where}: expected [lowest, highest]")
    return pair[0], pair[1]


def parse_matrix(raw: Any) -> Matrix:
    """Build and validate a Matrix from the YAML's parsed content."""
    if not isinstance(raw, dict):
        raise MatrixError("matrix: expected a mapping at the top")
    oses = []
    for where, row in _rows(raw, "os_releases"):
        source, verified = _source(row, where)
        oses.append(OsSpec(
            distribution=_text(row, "distribution", where), release=_text(row, "release", where),
            codename=_text(row, "codename", where), glibc=_version(row, "glibc", where),
            system_python=_version(row, "system_python", where),
            apt_repo_path=_text(row, "apt_repo_path", where), cuda_min=_version(row, "cuda_min", where),
            cuda_max=_version(row, "cuda_max", where, optional=True), source=source, verified=verified))
    archs = []
    for where, row in _rows(raw, "architectures"):
        source, verified = _source(row, where)
        flavour = _text(row, "open_modules", where)
        if flavour not in ("none", "available", "required"):
            raise MatrixError(f"{where}.open_modules: expected none, available or required")
        last_driver = row.get("last_driver")
        archs.append(Architecture(
            name=_text(row, "name", where),
            compute_capabilities=_strs(_need(row, "compute_capabilities", where), where),
            first_cuda=_version(row, "first_cuda", where),
            last_cuda=_version(row, "last_cuda", where, optional=True),
            first_driver=int(_need(row, "first_driver", where)),
            last_driver=None if last_driver is None else int(last_driver),
            open_modules=flavour, source=source, verified=verified))
    cc_first = {}
    for where, row in _rows(raw, "compute_capability_first_cuda"):
        _source(row, where)
        cc_first[_text(row, "compute_capability", where)] = _version(row, "first_cuda", where)
    cudas = []
    for where, row in _rows(raw, "cuda_releases"):
        source, verified = _source(row, where)
        cudas.append(CudaRelease(version=_version(row, "version", where),
                                 min_driver=_version(row, "min_driver", where),
                                 source=source, verified=verified))
    drivers = []
    for where, row in _rows(raw, "driver_branches"):
        source, verified = _source(row, where)
        install = _text(row, "install", where, optional=True) or "cuda-drivers-{branch}"
        drivers.append(DriverBranch(branch=int(_need(row, "branch", where)),
                                    os=_strs(_need(row, "os", where), where), install=install,
                                    source=source, verified=verified))
    cudnns = []
    for where, row in _rows(raw, "cudnn_releases"):
        source, verified = _source(row, where)
        cudnns.append(CudnnRelease(
            series=_version(row, "series", where), cuda_min=_version(row, "cuda_min", where),
            cuda_max=_version(row, "cuda_max", where, optional=True),
            os=_strs(_need(row, "os", where), where), package=_text(row, "package", where),
            source=source, verified=verified))
    py = raw.get("python_standalone")
    if not isinstance(py, dict):
        raise MatrixError("python_standalone: expected a mapping")
    py_source, _ = _source(py, "python_standalone")
    standalone = PythonStandalone(
        provider=_text(py, "provider", "python_standalone"),
        url_default=_text(py, "url_default", "python_standalone"),
        glibc_min=_version(py, "glibc_min", "python_standalone"),
        versions=_strs(_need(py, "versions", "python_standalone"), "python_standalone.versions"),
        preferred=_version(py, "preferred", "python_standalone"), source=py_source)
    torches = []
    for where, row in _rows(raw, "torch_releases"):
        source, verified = _source(row, where)
        patches = _need(row, "patches", where)
        if not isinstance(patches, dict) or not patches:
            raise MatrixError(f"{where}.patches: expected a mapping torch -> torchvision")
        torches.append(TorchRelease(
            version=_version(row, "version", where), python=_range(_need(row, "python", where), where),
            variants=_strs(_need(row, "variants", where), where),
            glibc_min=_version(row, "glibc_min", where),
            patches={str(k): str(v) for k, v in patches.items()}, source=source, verified=verified))
    rules = []
    for where, row in _rows(raw, "torch_variant_archs"):
        source, verified = _source(row, where)
        rules.append(TorchVariantArchs(
            variants=_strs(_need(row, "variants", where), where),
            torch_min=_version(row, "torch_min", where),
            torch_max=_version(row, "torch_max", where, optional=True),
            archs=_strs(_need(row, "archs", where), where), source=source, verified=verified))
    fastais = []
    for where, row in _rows(raw, "fastai_releases"):
        source, verified = _source(row, where)
        fastais.append(FastaiRelease(
            version=_version(row, "version", where), python_min=_version(row, "python_min", where),
            torch_min=_version(row, "torch_min", where), torch_below=_version(row, "torch_below", where),
            source=source, verified=verified))
    tfs = []
    for where, row in _rows(raw, "tensorflow_releases"):
        source, verified = _source(row, where)
        keras = _text(row, "keras", where)
        if keras not in ("tf.keras", "3"):
            raise MatrixError(f"{where}.keras: expected 'tf.keras' or '3'")
        if (keras == "3") != (row.get("keras_min") is not None):
            raise MatrixError(f"{where}.keras_min: required with Keras 3, not allowed with tf.keras")
        tfs.append(TensorflowRelease(
            version=_version(row, "version", where), python=_range(_need(row, "python", where), where),
            cuda=_version(row, "cuda", where), cudnn=_version(row, "cudnn", where),
            glibc_min=_version(row, "glibc_min", where),
            min_compute_capability=_version(row, "min_compute_capability", where),
            keras=keras, keras_min=_version(row, "keras_min", where, optional=True),
            source=source, verified=verified))
    kerases = []
    for where, row in _rows(raw, "keras_releases"):
        source, verified = _source(row, where)
        kerases.append(KerasRelease(
            version=_version(row, "version", where), python_min=_version(row, "python_min", where),
            source=source, verified=verified))
    matrix = Matrix(
        os_releases=tuple(oses), architectures=tuple(archs), cc_first_cuda=cc_first,
        cuda_releases=tuple(sorted(cudas, key=lambda c: vkey(c.version))),
        driver_branches=tuple(sorted(drivers, key=lambda d: d.branch)),
        cudnn_releases=tuple(cudnns), python_standalone=standalone,
        torch_releases=tuple(sorted(torches, key=lambda t: vkey(t.version))),
        torch_variant_archs=tuple(rules),
        fastai_releases=tuple(sorted(fastais, key=lambda f: vkey(f.version))),
        tensorflow_releases=tuple(sorted(tfs, key=lambda t: vkey(t.version))),
        keras_releases=tuple(sorted(kerases, key=lambda k: vkey(k.version))))
    _check_references(matrix)
    return matrix


def _unique(values: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise MatrixError(f"{where}: {value!r} appears twice")
        seen.add(value)


def _check_references(m: Matrix) -> None:
    paths = {o.apt_repo_path for o in m.os_releases}
    arch_names = {a.name for a in m.architectures}
    _unique((o.label for o in m.os_releases), "os_releases")
    _unique((a.name for a in m.architectures), "architectures")
    _unique((c.version for c in m.cuda_releases), "cuda_releases")
    _unique((str(d.branch) for d in m.driver_branches), "driver_branches")
    _unique((t.version for t in m.torch_releases), "torch_releases")
    _unique((minor(t.version) for t in m.torch_releases), "torch_releases (minor versions)")
    _unique((t.version for t in m.tensorflow_releases), "tensorflow_releases")
    all_cc = [cc for a in m.architectures for cc in a.compute_capabilities]
    _unique(all_cc, "architectures.compute_capabilities")
    for cc in m.cc_first_cuda:
        if cc not in all_cc:
            raise MatrixError(f"compute_capability_first_cuda: {cc} belongs to no architecture")
    for d in m.driver_branches:
        for path in d.os:
            if path not in paths:
                raise MatrixError(f"driver_branches[{d.branch}]: unknown repository path {path!r}")
    for dnn in m.cudnn_releases:
        for path in dnn.os:
            if path not in paths:
                raise MatrixError(f"cudnn_releases[{dnn.series}]: unknown repository path {path!r}")
    for c in m.cuda_releases:
        if c.branch not in {d.branch for d in m.driver_branches} and c.branch >= 525:
            raise MatrixError(f"cuda_releases[{c.version}]: no driver branch {c.branch} listed")
    for t in m.torch_releases:
        for variant in t.variants:
            try:
                variant_cuda(variant)
            except ValueError as exc:
                raise MatrixError(f"torch_releases[{t.version}]: {exc}") from None
            if not m.torch_archs(t.version, variant):
                raise MatrixError(f"torch_releases[{t.version}]: no torch_variant_archs rule for {variant}")
        if t.version not in t.patches:
            raise MatrixError(f"torch_releases[{t.version}].patches: must pair the release itself")
        for patch in t.patches:
            if minor(patch) != minor(t.version):
                raise MatrixError(f"torch_releases[{t.version}].patches: {patch} is another minor")
    for rule in m.torch_variant_archs:
        for name in rule.archs:
            if name not in arch_names:
                raise MatrixError(f"torch_variant_archs: unknown architecture {name!r}")
    for f in m.fastai_releases:
        if vkey(f.torch_min) >= vkey(f.torch_below):
            raise MatrixError(f"fastai_releases[{f.version}]: empty torch range")
    for o in m.os_releases:
        if o.cuda_max is not None and vkey(o.cuda_max) < vkey(o.cuda_min):
            raise MatrixError(f"os_releases[{o.label}]: cuda_max below cuda_min")
    if m.python_standalone.preferred not in m.python_standalone.versions:
        raise MatrixError("python_standalone.preferred: not among its versions")


@lru_cache(maxsize=4)
def load_matrix(path: str | None = None) -> Matrix:
    """The validated matrix (dlrig/data/matrix.yml unless a path is given), read once."""
    file = Path(path) if path else MATRIX_PATH
    with file.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return parse_matrix(raw)
