"""Lock files of the framework environments: their names, inputs and the `uv pip compile` that makes them.

The roles pytorch_env and tensorflow_env look for ``roles/<role>/files/locks/<name>.txt`` (committed)
and then for ``locks/<role>/manylinux_<floor>/<name>.txt`` (generated on the controller on demand), where
``<name>`` is built from the resolved stack exactly as :func:`pytorch_lock` and :func:`tensorflow_lock`
build it; ``scripts/lock_env.py`` writes both kinds with :func:`compile_lock`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dlrig.errors import InputError

_VERSION = re.compile(r"^\d+(\.\d+){1,3}([a-z]+\d+)?$")
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_TORCH_VARIANT = re.compile(r"^(cpu|cu\d{3}|rocm\d+(\.\d+)*)$")
_GLIBC = re.compile(r"^2\.\d{1,2}$")
TORCH_INDEX = "https://download.pytorch.org/whl/{variant}"
# The manylinux floors `uv pip compile --python-platform` knows for x86_64 (uv 0.13): a target glibc
# resolves for the highest of them it reaches (2.27, Ubuntu 18.04 -> manylinux_2_17).
UV_MANYLINUX = ("2.17", "2.28", *(f"2.{minor}" for minor in range(31, 41)))


class LockError(Exception):
    """A lock could not be made: uv missing, or the stack does not resolve against the given indexes."""


@dataclass(frozen=True)
class LockSpec:
    """What one lock pins: the role it belongs to, its file name and its top-level requirements."""

    role: str
    name: str
    python: str
    requirements: tuple[str, ...]
    framework_indexes: tuple[str, ...] = field(default=())
    # Dependencies left out of the resolution (and so of the lock), with the reason in the header.
    excludes: tuple[str, ...] = field(default=())

    def path(self, root: Path) -> Path:
        """The committed lock of the stack: ``roles/<role>/files/locks/<name>.txt``."""
        return root / "roles" / self.role / "files" / "locks" / f"{self.name}.txt"

    def generated_path(self, lock_dir: Path, glibc: str) -> Path:
        """The lock generated on demand for targets with this glibc:
        ``<lock_dir>/<role>/<manylinux floor>/<name>.txt`` (glibc 2.27 -> ``manylinux_2_17``)."""
        return lock_dir / self.role / uv_platform(glibc).removeprefix("x86_64-") / f"{self.name}.txt"


def _check(path: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise InputError(None, path, f"expected {what}, got {value!r}")
    return value


def pytorch_lock(
    python: str, torch: str, torchvision: str, fastai: str, variant: str, torch_index: str | None = None
) -> LockSpec:
    """The PyTorch/fastai lock of a stack; ``torch_index`` None means PyTorch's index for the variant,
    "" means none (the build on PyPI, which for torch 2.14 is the cu130 one).

    With a variant index, torch and torchvision are pinned with the variant's local label
    (``torch==2.5.1+cu121``): the resolver must not fall back to PyPI's build of the same release,
    which is made for another CUDA (and so another minimum driver).
    """
    _check("python", python, _PYTHON, "a minor version such as 3.11")
    for path, value in (("torch", torch), ("torchvision", torchvision), ("fastai", fastai)):
        _check(path, value, _VERSION, "a release such as 2.14.1")
    _check("variant", variant, _TORCH_VARIANT, "cpu, cuNNN or rocmX.Y")
    index = TORCH_INDEX.format(variant=variant) if torch_index is None else torch_index
    local = f"+{variant}" if index else ""
    return LockSpec(
        role="pytorch_env",
        name=f"py{python}-torch{torch}-{variant}-torchvision{torchvision}-fastai{fastai}",
        python=python,
        requirements=(f"torch=={torch}{local}", f"torchvision=={torchvision}{local}", f"fastai=={fastai}",
                      "ipykernel"),
        framework_indexes=(index,) if index else (),
    )


def tensorflow_lock(python: str, tensorflow: str, keras: str, variant: str) -> LockSpec:
    """The TensorFlow/Keras lock of a stack.

    ``tensorflow-cpu`` for variant "cpu", ``tensorflow[and-cuda]`` for "cuda". The cuda variant leaves
    TensorRT out: TensorFlow loads it only for TF-TRT (optional), and the ``tensorrt==8.5.3.1`` that the
    and-cuda extra of TF <= 2.14 requires has no wheel for Python >= 3.11, so the stack would not
    resolve there at all (from TF 2.15 on the extra no longer asks for it).
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
        excludes=("tensorrt",) if variant == "cuda" else (),
    )


def jupyterlab_lock(python: str, jupyterlab: str) -> LockSpec:
    """The lock of the JupyterLab server's own environment (role jupyterlab): JupyterLab and what it
    needs, nothing of the frameworks (their kernels run in their own environments)."""
    _check("python", python, _PYTHON, "a minor version such as 3.11")
    _check("jupyterlab", jupyterlab, _VERSION, "a release such as 4.6.4")
    return LockSpec(
        role="jupyterlab",
        name=f"py{python}-jupyterlab{jupyterlab}",
        python=python,
        requirements=(f"jupyterlab=={jupyterlab}",),
    )


@dataclass(frozen=True)
class Mirrors:
    """Where the resolver looks: the same options the roles give pip (python_env_pip_*)."""

    # "" = uv's own default (PyPI, or UV_INDEX_URL / uv.toml): nothing of this machine is assumed.
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()


def glibc_for_os(distribution: str, release: str) -> str:
    """The glibc of an OS release, from dlrig/data/matrix.yml ("Ubuntu", "18.04" -> "2.27")."""
    from dlrig.stack.matrix_file import load_matrix

    spec = load_matrix().find_os(distribution, release)
    if spec is None:
        raise InputError(None, "os", f"{distribution} {release} is not in dlrig's matrix: "
                                     "give the target's glibc instead (--glibc, python_env_lock_glibc)")
    return spec.glibc


def uv_platform(glibc: str) -> str:
    """uv's ``--python-platform`` for targets with this glibc: the highest manylinux floor it reaches."""
    _check("glibc", glibc, _GLIBC, "a glibc version such as 2.28")
    have = tuple(int(part) for part in glibc.split("."))
    floors = [f for f in UV_MANYLINUX if tuple(int(part) for part in f.split(".")) <= have]
    if not floors:
        raise InputError(None, "glibc", f"glibc {glibc} is older than manylinux2014 (2.17)")
    return f"x86_64-manylinux_{floors[-1].replace('.', '_')}"


def uv_compile_command(
    spec: LockSpec, uv: str, requirements_in: Path, output: Path, mirrors: Mirrors, glibc: str = "2.28"
) -> list[str]:
    """`uv pip compile` resolving ``spec`` for Linux x86_64 with hashes of every distribution.

    Framework indexes come first; ``unsafe-best-match`` lets a version missing from a local mirror
    come from the next index (the hashes pin the exact files either way). Wheels only, as the roles
    install (``--only-binary=:all:``), so a release that has no wheel for the glibc is never picked.
    """
    cmd = [uv, "pip", "compile", "--quiet", "--native-tls", "--no-header", "--generate-hashes",
           "--only-binary", ":all:", "--python-version", spec.python, "--python-platform", uv_platform(glibc),
           "--index-strategy", "unsafe-best-match"]
    if mirrors.index_url:
        cmd += ["--index-url", mirrors.index_url]
    for url in (*spec.framework_indexes, *mirrors.extra_index_urls):
        cmd += ["--extra-index-url", url]
    for link in mirrors.find_links:
        cmd += ["--find-links", link]
    for host in mirrors.trusted_hosts:
        cmd += ["--allow-insecure-host", host]
    if spec.excludes:
        cmd += ["--excludes", str(excludes_file(requirements_in))]
    cmd += [str(requirements_in), "-o", str(output)]
    return cmd


def excludes_file(requirements_in: Path) -> Path:
    """Where :func:`compile_lock` writes the excluded names for uv (next to the requirements)."""
    return requirements_in.with_suffix(".excludes")


# Options whose values are the resolving machine's mirrors: never written into a lock's header.
_MIRROR_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "--allow-insecure-host")


def _mirror_summary(mirrors: Mirrors | None) -> str:
    if mirrors is None or not (mirrors.index_url or mirrors.extra_index_urls or mirrors.find_links):
        return "none (uv's default index: PyPI, or UV_INDEX_URL)"
    parts = [*(["an index"] if mirrors.index_url else []),
             *([f"{len(mirrors.extra_index_urls)} extra index(es)"] if mirrors.extra_index_urls else []),
             *([f"{len(mirrors.find_links)} find-links location(s)"] if mirrors.find_links else [])]
    return (", ".join(parts) + " of the resolving site (not recorded: machine-local; the hashes pin the "
            "files wherever they come from)")


def shown_command(spec: LockSpec, command: list[str]) -> str:
    """The resolver command as a lock's header shows it: no uv path, no input/output files, and no
    mirror of the resolving machine (the framework's own indexes stay: they decide the build)."""
    parts, shown, i = command[1:-3], [], 0
    while i < len(parts):
        part = parts[i]
        if part in _MIRROR_OPTIONS and i + 1 < len(parts):
            value = parts[i + 1]
            if part == "--extra-index-url" and value in spec.framework_indexes:
                shown += [part, value]
            i += 2
            continue
        shown.append(part if " " not in part else repr(part))
        i += 1
    return " ".join(shown)


def lock_header(spec: LockSpec, command: list[str], generated: str, glibc: str = "",
                mirrors: Mirrors | None = None) -> str:
    """Comment block on top of a lock: what it pins and how to make it again, without the resolving
    machine's paths or mirror URLs (committed locks must not name a machine)."""
    lines = [
        f"# dlrig lock: {spec.name} (role {spec.role}), generated {generated} by scripts/lock_env.py",
        f"# Top-level requirements: {', '.join(spec.requirements)}",
        f"# Framework indexes: {', '.join(spec.framework_indexes) or 'none (PyPI build)'}",
        *([f"# Left out: {', '.join(spec.excludes)} (optional; dlrig/locks.py)"] if spec.excludes else []),
        *([f"# Targets: Linux x86_64, glibc >= {glibc}"] if glibc else []),
        f"# Mirrors: {_mirror_summary(mirrors)}",
        f"# Resolver: uv {shown_command(spec, command)}",
        "# Installed with: uv pip install --require-hashes --no-deps --only-binary :all: -r <this file> "
        "(or pip, python_env_installer: pip)",
        "",
    ]
    return "\n".join(lines)


def lock_pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` of a lock; LockError when a pin is not exact or has no hash."""
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.split("\n", 1)[0].strip()
        if not first or first.startswith(("#", "-")):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", first)
        if not m:
            raise LockError(f"not an exact pin: {first}")
        if "--hash=sha256:" not in block:
            raise LockError(f"no hash for {first.split()[0]}")
        pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def find_uv(python: str | None = None) -> str:
    """The uv of the controller: next to its Python (the venv's ``bin/uv``), the ``uv`` package, PATH."""
    beside = Path(python or sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found:
        return found
    raise LockError("uv is not installed on the controller: it is in requirements-controller.txt "
                    "(bin/dlrig installs it), or `pip install uv` into the Python that runs Ansible")


@contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Serialise writers of one lock directory (hosts sharing a stack resolve it once)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class LockResult:
    path: Path
    created: bool
    packages: int


def compile_lock(
    spec: LockSpec,
    output: Path,
    mirrors: Mirrors,
    glibc: str,
    uv: str,
    generated: str,
    *,
    reuse: bool = False,
    env: Mapping[str, str] | None = None,
) -> LockResult:
    """Resolve ``spec`` with uv and write its lock to ``output`` atomically (header + hashed pins).

    ``reuse``: an existing ``output`` is kept as it is (created False). Writers of the same directory
    wait for each other, so hosts that share a stack resolve it once. LockError when uv fails, with
    uv's own explanation.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    with _dir_lock(output.parent):
        if reuse and output.is_file():
            return LockResult(output, False, len(lock_pins(output.read_text(encoding="utf-8"))))
        with tempfile.TemporaryDirectory(prefix="dlrig-lock-") as tmp:
            req_in, raw = Path(tmp) / f"{spec.name}.in", Path(tmp) / "lock.txt"
            req_in.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
            excludes_file(req_in).write_text("".join(f"{name}\n" for name in spec.excludes), encoding="utf-8")
            cmd = uv_compile_command(spec, uv, req_in, raw, mirrors, glibc)
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                      env=None if env is None else dict(env))
            except OSError as exc:
                raise LockError(f"cannot run uv ({uv}): {exc}") from exc
            if proc.returncode != 0:
                wanted = ", ".join(spec.requirements)
                raise LockError(f"uv pip compile failed (exit {proc.returncode}) for {wanted} on "
                                f"{uv_platform(glibc)}, Python {spec.python}:\n{proc.stderr.strip()}")
            # uv annotates top-level pins with the input's path: keep its name only (no temp dir).
            body = raw.read_text(encoding="utf-8").replace(str(req_in), req_in.name)
        packages = len(lock_pins(body))
        fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                shown = [part.replace(f"{tmp}/", "") for part in cmd]
                handle.write(lock_header(spec, shown, generated, glibc, mirrors) + body)
            os.chmod(partial, 0o644)
            os.replace(partial, output)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return LockResult(output, True, packages)
