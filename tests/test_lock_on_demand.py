"""Locks generated on demand (dlrig.locks.compile_lock, scripts/lock_env.py, roles/python_env/tasks/lock.yml).

Everything resolves against the package mirror the environment names (tests/mirrors.py:
DLRIG_TEST_*, PIP_* or pip's configuration; with UV_OFFLINE=1), and skips when it or uv is missing.
The role test copies the env roles into a throwaway project without committed TensorFlow locks and
runs tensorflow_env in --check mode on localhost: the lock is generated on the controller, reused by
the next include, and a committed lock wins over it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mirrors import package_mirror, serves

from dlrig.errors import InputError
from dlrig.locks import LockError, LockSpec, Mirrors, compile_lock, find_uv, lock_pins, tensorflow_lock

ROOT = Path(__file__).resolve().parents[1]
MIRROR = package_mirror()
LOCAL = MIRROR or Mirrors()
LOCAL_ARGS = [*(["--index-url", LOCAL.index_url] if LOCAL.index_url else []),
              *(a for url in LOCAL.extra_index_urls for a in ("--extra-index-url", url)),
              *(a for link in LOCAL.find_links for a in ("--find-links", link))]
TF_ARGS = ["tensorflow", "--python", "3.11", "--tensorflow", "2.21.0", "--keras", "3.15.1",
           "--variant", "cpu"]
TF_NAME = "py3.11-tensorflow2.21.0-cpu-keras3.15.1"
OFFLINE = dict(os.environ, UV_OFFLINE="1")


def _uv() -> str | None:
    try:
        return find_uv()
    except LockError:
        return None


pytestmark = [
    pytest.mark.skipif(not serves(MIRROR, "tensorflow-cpu"),
                       reason="the package mirror (tests/mirrors.py) lacks tensorflow-cpu"),
    pytest.mark.skipif(_uv() is None, reason="uv is not installed (requirements-controller.txt)"),
]


def _hashed_pins(text: str) -> dict[str, str]:
    """Pins of a lock, checked independently of dlrig.locks: every top-level block has a sha256."""
    pins = {}
    for line in text.splitlines():
        if line and line[0].isalnum():
            name, _, version = line.split(" ")[0].partition("==")
            assert version, f"not pinned: {line}"
            pins[name.lower().split("[")[0]] = version
    blocks = [b for b in text.split("\n") if b and b[0].isalnum()]
    assert text.count("--hash=sha256:") >= len(blocks) == len(pins)
    return pins


def test_compile_lock_writes_a_hashed_lock_and_reuses_it(tmp_path):
    spec = LockSpec(role="demo", name="six", python="3.11", requirements=("six==1.17.0",))
    out = tmp_path / "locks" / "six.txt"
    first = compile_lock(spec, out, LOCAL, "2.36", str(_uv()), "2026-11-30", reuse=True, env=OFFLINE)
    assert (first.created, first.packages) == (True, 1)
    text = out.read_text()
    assert text.startswith("# dlrig lock: six (role demo)")
    assert "--python-platform x86_64-manylinux_2_36" in text and str(tmp_path) not in text
    assert _hashed_pins(text) == {"six": "1.17.0"}
    out.write_text(text + "# kept\n")  # a reused lock is not rewritten
    again = compile_lock(spec, out, LOCAL, "2.36", str(_uv()), "2026-12-01", reuse=True, env=OFFLINE)
    assert not again.created and out.read_text().endswith("# kept\n")
    assert [p.name for p in out.parent.iterdir()] == ["six.txt"]  # no temporary files left


def test_compile_lock_fails_with_uvs_reason_and_writes_nothing(tmp_path):
    spec = LockSpec(role="demo", name="nope", python="3.11", requirements=("six==99.0",))
    reason = r"(?s)six==99\.0 on x86_64-manylinux_2_17, Python 3\.11:\n.*no version of six==99"
    with pytest.raises(LockError, match=reason):
        compile_lock(spec, tmp_path / "nope.txt", LOCAL, "2.27", str(_uv()), "2026-11-30", env=OFFLINE)
    assert not (tmp_path / "nope.txt").exists()


def test_lock_pins_refuses_an_unhashed_pin():
    with pytest.raises(LockError, match="no hash for six"):
        lock_pins("six==1.17.0\n")


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts/lock_env.py"), *args],
                          capture_output=True, text=True, env=OFFLINE, check=False)


def test_script_generates_the_stack_lock_for_the_os_glibc_then_reuses_it(tmp_path):
    args = [*TF_ARGS, *LOCAL_ARGS, "--os", "Debian", "12.5", "--lock-dir", str(tmp_path), "--if-missing",
            "--json"]
    first = _script(*args)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    lock = tmp_path / "tensorflow_env" / "manylinux_2_36" / f"{TF_NAME}.txt"
    assert result == {"path": str(lock), "created": True, "packages": result["packages"], "name": TF_NAME,
                      "platform": "x86_64-manylinux_2_36"}
    pins = _hashed_pins(lock.read_text())
    assert (pins["tensorflow-cpu"], pins["keras"]) == ("2.21.0", "3.15.1") and "ipykernel" in pins
    assert len(pins) == result["packages"] > 40
    assert not [name for name in pins if name.startswith("nvidia-")]
    again = json.loads(_script(*args).stdout)
    assert again["path"] == str(lock) and again["created"] is False


def test_script_names_the_stack_when_no_wheel_fits_the_glibc(tmp_path):
    # tensorflow-cpu 2.21.0 ships manylinux_2_27 wheels only; uv cannot target 2.27 exactly, so an
    # Ubuntu 18.04 lock resolves for manylinux_2_17 and (correctly, conservatively) finds none.
    proc = _script(*TF_ARGS, *LOCAL_ARGS, "--os", "Ubuntu", "18.04", "--lock-dir", str(tmp_path), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"lock_env: tensorflow_env stack {TF_NAME}: uv pip compile failed")
    assert "manylinux_2_17" in proc.stderr
    assert not list(tmp_path.rglob("*.txt"))


def test_script_refuses_an_os_the_matrix_does_not_know(tmp_path):
    proc = _script(*TF_ARGS, "--os", "Ubuntu", "16.04", "--lock-dir", str(tmp_path))
    assert proc.returncode == 2 and "Ubuntu 16.04 is not in dlrig's matrix" in proc.stderr


def test_tensorflow_cuda_lock_leaves_tensorrt_out():
    assert tensorflow_lock("3.11", "2.14.1", "2.14.0", "cuda").excludes == ("tensorrt",)
    assert tensorflow_lock("3.11", "2.14.1", "2.14.0", "cpu").excludes == ()
    with pytest.raises(InputError):
        tensorflow_lock("3.11", "2.14.1", "2.14.0", "rocm")


# ---- the role: tensorflow_env -> python_env/tasks/lock.yml, in --check mode on localhost ----

PLAY = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: true
      vars:
        tensorflow_env_python_version: "3.11"
        tensorflow_env_tensorflow_version: "2.21.0"
        tensorflow_env_keras_version: "3.15.1"
        tensorflow_env_variant: cpu
        python_runtime_version: "3.11"
        python_runtime_source: system
        tensorflow_env_prefix: {tmp}/envs
        python_env_kernels_dir: {tmp}/kernels
        python_env_pip_index_url: {index}
        python_env_pip_extra_index_urls: {extras}
        python_env_pip_find_links: {links}
      tasks:
        - name: First run (no lock anywhere), second run (the generated one), committed lock added
          ansible.builtin.include_tasks: round.yml
          loop: [generated, reused, committed]
          loop_control: {{loop_var: round}}
""")
ROUND = textwrap.dedent("""\
    - name: Commit a lock for the stack
      ansible.builtin.copy:
        src: {committed_src}
        dest: {tmp}/project/roles/tensorflow_env/files/locks/{name}.txt
        mode: "0644"
      check_mode: false
      when: round == 'committed'
    - name: Run the role
      ansible.builtin.include_role:
        name: tensorflow_env
    - name: Record
      ansible.builtin.copy:
        content: "{{{{ {{'lock': python_env_lock_path, 'generation': python_env_lock_generation,
                      'actions': python_env_result.actions | default([])}} | to_json }}}}"
        dest: "{tmp}/{{{{ round }}}}.json"
        mode: "0644"
      check_mode: false
""")


DEBIAN_12 = Path("/usr/bin/python3.11").exists() and "bookworm" in Path("/etc/os-release").read_text()


@pytest.mark.skipif(not DEBIAN_12, reason="python_runtime's system Python 3.11 is Debian 12's")
def test_role_generates_on_the_controller_reuses_and_lets_a_committed_lock_win(tmp_path):
    project = tmp_path / "project"
    for role in ("python_env", "python_runtime", "tensorflow_env"):
        shutil.copytree(ROOT / "roles" / role, project / "roles" / role)
    for lock in (project / "roles/tensorflow_env/files/locks").glob("*.txt"):
        lock.unlink()
    (project / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/lock_env.py", project / "scripts/lock_env.py")
    committed = ROOT / "roles/tensorflow_env/files/locks" / f"{TF_NAME}.txt"
    (tmp_path / "play.yml").write_text(PLAY.format(tmp=tmp_path, index=json.dumps(LOCAL.index_url),
                                                   extras=json.dumps(list(LOCAL.extra_index_urls)),
                                                   links=json.dumps(list(LOCAL.find_links))))
    (tmp_path / "round.yml").write_text(ROUND.format(tmp=tmp_path, name=TF_NAME, committed_src=committed))
    env = dict(OFFLINE, ANSIBLE_ROLES_PATH=str(project / "roles"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_CALLBACKS_ENABLED="",
               ANSIBLE_FACT_CACHING="memory", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_FORCE_COLOR="0")
    playbook = Path(sys.executable).parent / "ansible-playbook"
    proc = subprocess.run([str(playbook), "-i", "localhost,", "--check", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, check=False, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    generated = project / "locks/tensorflow_env/manylinux_2_36" / f"{TF_NAME}.txt"
    first, second, third = (json.loads((tmp_path / f"{r}.json").read_text())
                            for r in ("generated", "reused", "committed"))
    # 1: nothing committed -> resolved on the controller into <project>/locks, said so, then built from it.
    assert first["lock"] == str(generated) and first["generation"]["changed"] is True
    assert _hashed_pins(generated.read_text())["tensorflow-cpu"] == "2.21.0"
    assert f"Generated the lock {generated}" in out
    assert [a for a in first["actions"] if a.startswith(f"build {tmp_path}/envs/tensorflow-")]
    # 2: the generated lock is reused: the script keeps it, nothing changes.
    assert second["lock"] == str(generated) and second["generation"]["changed"] is False
    assert out.count("Generated the lock") == 1
    # 3: a committed lock wins: no generation at all.
    assert third["lock"].endswith(f"roles/tensorflow_env/files/locks/{TF_NAME}.txt")
    assert third["generation"].get("skipped") is True


# ---- the 18.04 reference stack's PyTorch lock, against a stand-in for PyTorch's cu121 index ----

def _wheel(folder: Path, name: str, version: str, tag: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal wheel (metadata only) for the resolver."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{name.replace('-', '_')}/__init__.py": "",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
            name, version, "".join(f"Requires-Dist: {r}\n" for r in requires)),
        f"{dist}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: false\nTag: {tag}\n",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text)}\n" for path, text in files.items())
    path = folder / f"{dist}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name_in, text in files.items():
            archive.writestr(name_in, text)
        archive.writestr(f"{dist}.dist-info/RECORD", record + f"{dist}.dist-info/RECORD,,\n")
    return path


def _simple_index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 index (file://) holding these wheels."""
    for wheel in wheels:
        project = root / wheel.name.split("-")[0].replace("_", "-")
        project.mkdir(parents=True, exist_ok=True)
        target = project / wheel.name
        wheel.rename(target)
        page = project / "index.html"
        links = page.read_text() if page.exists() else ""
        page.write_text(links + f'<a href="{target.name}">{target.name}</a>\n')
    return root.as_uri()


def test_reference_pytorch_lock_takes_the_variant_build_from_the_torch_index(tmp_path):
    """Ubuntu 18.04 stack: torch 2.5.1+cu121 (a `linux_x86_64` wheel, as download.pytorch.org tags them)
    from the variant index, while the other index also offers PyPI's plain 2.5.1 (another CUDA)."""
    built = tmp_path / "built"
    built.mkdir()
    torch_index = _simple_index(tmp_path / "torch-cu121", [
        _wheel(built, "torch", "2.5.1+cu121", "cp311-cp311-linux_x86_64"),
        _wheel(built, "torchvision", "0.20.1+cu121", "cp311-cp311-linux_x86_64", ("torch==2.5.1",)),
    ])
    decoys = _simple_index(tmp_path / "pypi-like", [
        _wheel(built, "torch", "2.5.1", "cp311-cp311-manylinux_2_17_x86_64"),
        _wheel(built, "torch", "2.6.0", "cp311-cp311-manylinux_2_28_x86_64"),
        _wheel(built, "fastai", "2.8.12", "py3-none-any", ("torch<2.10,>=1.10",)),
        _wheel(built, "ipykernel", "7.1.0", "py3-none-any"),
    ])
    proc = _script("pytorch", "--python", "3.11", "--torch", "2.5.1", "--torchvision", "0.20.1",
                   "--fastai", "2.8.12", "--variant", "cu121", "--torch-index", torch_index,
                   "--index-url", decoys, "--os", "Ubuntu", "18.04", "--lock-dir", str(tmp_path / "locks"),
                   "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["path"].endswith(
        "locks/pytorch_env/manylinux_2_17/py3.11-torch2.5.1-cu121-torchvision0.20.1-fastai2.8.12.txt")
    text = Path(result["path"]).read_text()
    pins = _hashed_pins(text)
    assert (pins["torch"], pins["torchvision"], pins["fastai"]) == ("2.5.1+cu121", "0.20.1+cu121", "2.8.12")
    assert "ipykernel" in pins
    assert f"# Framework indexes: {torch_index}" in text and "x86_64-manylinux_2_17" in text
    # Without the variant's build on the torch index (a mirror that lacks it), the lock is not quietly
    # made of PyPI's plain 2.5.1 (built for another CUDA): it fails and names what is missing.
    (tmp_path / "torch-cu121" / "torch" / "index.html").write_text("")
    proc = _script("pytorch", "--python", "3.11", "--torch", "2.5.1", "--torchvision", "0.20.1",
                   "--fastai", "2.8.12", "--variant", "cu121", "--torch-index", torch_index,
                   "--index-url", decoys, "--os", "Ubuntu", "18.04", "--output", str(tmp_path / "nope.txt"))
    assert proc.returncode == 1 and "torch==2.5.1+cu121" in proc.stderr
    assert not (tmp_path / "nope.txt").exists()
