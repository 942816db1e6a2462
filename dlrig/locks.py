"""Lock files of the framework environments: their names, inputs and the `uv pip compile` that makes them.

The roles pytorch_env and tensorflow_env look for ``roles/<role>/files/locks/<name>.txt`` where
``<name>`` is built from the resolved stack exactly as :func:`pytorch_lock` and
:func:`tensorflow_lock` build it; ``scripts/lock_env.py`` writes those files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dlrig.errors import InputError

_VERSION = re.compile(r"^\d+(\.\d+){1,3}([a-z]+\d+)?$")
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_TORCH_VARIANT = re.compile(r"^(cpu|cu\d{3}|rocm\d+(\.\d+)*)$")
TORCH_INDEX = "https://download.pytorch.org/whl/{variant}"


@dataclass(frozen=True)
class LockSpec:
    """What one lock pins: the role it belongs to, its file name and its top-level requirements."""

    role: str
    name: str
    python: str
    requirements: tuple[str, ...]
    framework_indexes: tuple[str, ...] = field(default=())

    def path(self, root: Path) -> Path:
        return root / "roles" / self.role / "files" / "locks" / f"{self.name}.txt"


def _check(path: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise InputError(None, path, f"expected {what}, got {value!r}")
    return value


def pytorch_lock(
    python: str, torch: str, torchvision: str, fastai: str, variant: str, torch_index: str | None = None
) -> LockSpec:
    """The PyTorch/fastai lock of a stack; ``torch_index`` None means PyTorch's index for the variant,
    "" means none (the build on PyPI, which for torch 2.14 is the cu130 one)."""
    _check("python", python, _PYTHON, "a minor version such as 3.11")
    for path, value in (("torch", torch), ("torchvision", torchvision), ("fastai", fastai)):
        _check(path, value, _VERSION, "a release such as 2.14.1")
    _check("variant", variant, _TORCH_VARIANT, "cpu, cuNNN or rocmX.Y")
    index = TORCH_INDEX.format(variant=variant) if torch_index is None else torch_index
    return LockSpec(
        role="pytorch_env",
        name=f"py{python}-torch{torch}-{variant}-torchvision{torchvision}-fastai{fastai}",
        python=python,
        requirements=(f"torch=={torch}", f"torchvision=={torchvision}", f"fastai=={fastai}", "ipykernel"),
        framework_indexes=(index,) if index else (),
    )


def tensorflow_lock(python: str, tensorflow: str, keras: str, variant: str) -> LockSpec:
    """The TensorFlow/Keras lock of a stack.

    ``tensorflow-cpu`` for variant "cpu", ``tensorflow[and-cuda]`` for "cuda".
    """
    _check("python", python, _PYTHON, "a minor version such as 3.11")
    _check("tensorflow", tensorflow, _VERSION, "a release such as 2.21.0")
    _check("keras", keras, _VERSION, "a release such as 3.15.1")
    if variant not in ("cpu", "cuda"):
        raise InputError(None, "variant", f"expected cpu or cuda, got {variant!r}")
    package = "tensorflow-cpu" if variant == "cpu" else "tensorflow[and-cuda]"
    return LockSpec(
        role="tensorflow_env",
        name=f"py{python}-tensorflow{tensorflow}-{variant}-keras{keras}",
        python=python,
        requirements=(f"{package}=={tensorflow}", f"keras=={keras}", "ipykernel"),
    )


@dataclass(frozen=True)
class Mirrors:
    """Where the resolver looks: the same options the roles give pip (python_env_pip_*)."""

    index_url: str = "https://pypi.org/simple"
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


def uv_compile_command(
    spec: LockSpec, uv: str, requirements_in: Path, output: Path, mirrors: Mirrors, glibc: str = "2.28"
) -> list[str]:
    """`uv pip compile` resolving ``spec`` for Linux x86_64 with hashes of every distribution.

    Framework indexes come first; ``unsafe-best-match`` lets a version missing from a local mirror
    come from the next index (the hashes pin the exact files either way).
    """
    if not re.match(r"^2\.\d{2}$", glibc):
        raise InputError(None, "glibc", f"expected a glibc version such as 2.28, got {glibc!r}")
    platform = f"x86_64-manylinux_{glibc.replace('.', '_')}"
    cmd = [uv, "pip", "compile", "--quiet", "--native-tls", "--no-header", "--generate-hashes",
           "--python-version", spec.python, "--python-platform", platform,
           "--index-strategy", "unsafe-best-match", "--index-url", mirrors.index_url]
    for url in (*spec.framework_indexes, *mirrors.extra_index_urls):
        cmd += ["--extra-index-url", url]
    for link in mirrors.find_links:
        cmd += ["--find-links", link]
    cmd += [str(requirements_in), "-o", str(output)]
    return cmd


def lock_header(spec: LockSpec, command: list[str], generated: str) -> str:
    """Comment block on top of a lock: what it pins and how to make it again."""
    # The command without the uv path and the temporary input/output files.
    shown = " ".join(part if " " not in part else repr(part) for part in command[1:-3])
    lines = [
        f"# dlrig lock: {spec.name} (role {spec.role}), generated {generated} by scripts/lock_env.py",
        f"# Top-level requirements: {', '.join(spec.requirements)}",
        f"# Framework indexes: {', '.join(spec.framework_indexes) or 'none (PyPI build)'}",
        f"# Resolver: uv {shown}",
        "# Installed with: pip install --require-hashes --no-deps --only-binary=:all: -r <this file>",
        "",
    ]
    return "\n".join(lines)
