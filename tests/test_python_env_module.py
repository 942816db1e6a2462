"""The atomic environment engine, module dlrig.rig.python_env (roles/python_env).

Pure functions are called directly; the end-to-end tests run the module through ansible-playbook
on localhost against a throwaway prefix with a one-package lock (six from the package mirror the
environment names, tests/mirrors.py; no network), and skip when that mirror lacks six.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from mirrors import package_mirror, serves

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py"

# The module imports the collection's module_utils (fetch_error), as Ansible ships them with it.
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))
spec = importlib.util.spec_from_file_location("dlrig_python_env", MODULE)
assert spec and spec.loader
pe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pe)

SIX_LOCK = textwrap.dedent("""\
    # one package
    six==1.17.0 \\
        --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274
        # via -r small.in
""")
MIRROR = package_mirror()


# ---- parse_lock / env_key ----

def test_parse_lock_reads_pins_across_continuation_lines():
    text = textwrap.dedent("""\
        Torch_Vision==0.29.1 \\
            --hash=sha256:aa \\
            --hash=sha256:bb
            # via fastai
        tensorflow[and-cuda]==2.21.0 ; sys_platform == "linux" \\
            --hash=sha256:cc
        --extra-index-url https://example.invalid/simple
    """)
    assert pe.parse_lock(text) == {"torch-vision": "0.29.1", "tensorflow": "2.21.0"}


def test_parse_lock_refuses_an_unhashed_pin():
    with pytest.raises(ValueError, match="without --hash: six"):
        pe.parse_lock("six==1.17.0\nidna==3.20 --hash=sha256:aa\n")


def test_parse_lock_refuses_a_range_and_an_empty_lock():
    with pytest.raises(ValueError, match="not a pinned requirement"):
        pe.parse_lock("six>=1.16 --hash=sha256:aa\n")
    with pytest.raises(ValueError, match="pins no packages"):
        pe.parse_lock("# nothing\n")


def test_key_changes_with_the_lock_and_with_the_interpreter():
    base = pe.env_key(SIX_LOCK, "/usr/bin/python3.11")
    assert len(base) == 12 and int(base, 16) >= 0
    assert pe.env_key(SIX_LOCK, "/usr/bin/python3.11") == base
    assert pe.env_key(SIX_LOCK + "\n", "/usr/bin/python3.11") != base
    assert pe.env_key(SIX_LOCK, "/opt/dlrig/python/3.11.10/bin/python3.11") != base


# ---- directory bookkeeping ----

def test_switch_symlink_replaces_the_link_atomically(tmp_path):
    (tmp_path / "env-aaa").mkdir()
    (tmp_path / "env-bbb").mkdir()
    link = tmp_path / "env"
    pe.switch_symlink(str(link), "env-aaa")
    assert os.readlink(link) == "env-aaa"
    pe.switch_symlink(str(link), "env-bbb")
    assert os.readlink(link) == "env-bbb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env", "env-aaa", "env-bbb"]


def test_current_target_refuses_a_real_directory(tmp_path):
    (tmp_path / "env").mkdir()
    with pytest.raises(pe.BuildError, match="not a symlink"):
        pe.current_target(str(tmp_path / "env"))
    assert pe.current_target(str(tmp_path / "absent")) is None


def test_prune_keeps_the_new_one_the_previous_one_and_then_the_newest(tmp_path):
    names = ["e-000000000001", "e-000000000002", "e-000000000003", "e-000000000004"]
    for i, name in enumerate(names):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1000 + i, 1000 + i))
    (tmp_path / "e-notakey").mkdir()
    (tmp_path / ".staging-e-000000000005").mkdir()
    final, previous = str(tmp_path / names[3]), str(tmp_path / names[0])
    pruned = pe.to_prune(str(tmp_path), "e", final, previous, keep=1)
    assert sorted(Path(p).name for p in pruned) == [names[1], names[2]]
    assert [Path(p).name for p in pe.to_prune(str(tmp_path), "e", final, previous, keep=2)] == [names[1]]
    assert pe.stale_staging(str(tmp_path), "e") == [str(tmp_path / ".staging-e-000000000005")]


def test_relocate_rewrites_shebangs_and_activate_but_not_binaries(tmp_path):
    old, new = tmp_path / ".staging-e-k", tmp_path / "e-k"
    (new / "bin").mkdir(parents=True)
    (new / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = /usr/bin/python3 -m venv {old}\n")
    (new / "bin" / "pip").write_text(f"#!{old}/bin/python\nimport pip\n")
    os.chmod(new / "bin" / "pip", 0o755)
    (new / "bin" / "activate").write_text(f'VIRTUAL_ENV="{old}"\n')
    (new / "bin" / "blob").write_bytes(b"\0ELF" + str(old).encode())
    (new / "bin" / "python").symlink_to("/usr/bin/python3")
    pe.relocate(str(old), str(new))
    assert (new / "bin" / "pip").read_text().startswith(f"#!{new}/bin/python\n")
    assert os.access(new / "bin" / "pip", os.X_OK)
    assert (new / "bin" / "activate").read_text() == f'VIRTUAL_ENV="{new}"\n'
    assert str(new) in (new / "pyvenv.cfg").read_text()
    assert (new / "bin" / "blob").read_bytes() == b"\0ELF" + str(old).encode()
    assert os.readlink(new / "bin" / "python") == "/usr/bin/python3"


# ---- end to end, through ansible-playbook on localhost ----

needs_local_index = pytest.mark.skipif(
    not serves(MIRROR, "six"), reason="the package mirror (tests/mirrors.py) lacks six")


def _play(tmp_path: Path, lock: str, check: bool = False, **extra: object) -> dict:
    lock_file = tmp_path / "lock.txt"
    lock_file.write_text(lock)
    lookup = f"{{{{ lookup('ansible.builtin.file', '{lock_file}') }}}}"
    args = {
        "name": "small", "prefix": str(tmp_path / "envs"), "python": sys.executable, "lock": lookup,
        "imports": ["six"], "index_url": MIRROR.index_url if MIRROR else "",
        "extra_index_urls": list(MIRROR.extra_index_urls) if MIRROR else [],
        "find_links": list(MIRROR.find_links) if MIRROR else [], **extra,
    }
    save = {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")},
            "check_mode": False}
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [{"dlrig.rig.python_env": args, "register": "r"}, save]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_CALLBACKS_ENABLED="",
               ANSIBLE_FACT_CACHING="memory", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    playbook = Path(sys.executable).parent / "ansible-playbook"
    cmd = [str(playbook), "-i", "localhost,", str(tmp_path / "play.yml")]
    cmd += ["--check"] if check else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    result = json.loads((tmp_path / "r.json").read_text()) if (tmp_path / "r.json").exists() else {}
    (tmp_path / "r.json").unlink(missing_ok=True)
    return {"rc": proc.returncode, "out": proc.stdout + proc.stderr, **result}


@needs_local_index
def test_check_mode_builds_nothing_then_build_then_second_run_changes_nothing(tmp_path):
    checked = _play(tmp_path, SIX_LOCK, check=True)
    assert checked["rc"] == 0, checked["out"]
    assert checked["changed"] and not (tmp_path / "envs" / "small").exists()
    built = _play(tmp_path, SIX_LOCK)
    assert built["rc"] == 0 and built["changed"], built["out"]
    link = tmp_path / "envs" / "small"
    assert os.readlink(link) == f"small-{built['key']}"
    marker = json.loads((link / ".dlrig-env.json").read_text())
    assert marker["lock_sha256"] == hashlib.sha256(SIX_LOCK.encode()).hexdigest()
    assert subprocess.run([str(link / "bin" / "python"), "-c", "import six"], check=False).returncode == 0
    # Console scripts point at the versioned directory, not at the staging one they were built in.
    assert (link / "bin" / "pip").read_text().startswith(f"#!{tmp_path}/envs/small-{built['key']}/bin/")
    again = _play(tmp_path, SIX_LOCK)
    assert again["rc"] == 0 and not again["changed"] and again["actions"] == [], again["out"]
    assert not _play(tmp_path, SIX_LOCK, check=True)["changed"]


@needs_local_index
def test_a_failing_build_leaves_the_previous_env_and_a_stale_staging_dir_is_cleaned(tmp_path):
    good = _play(tmp_path, SIX_LOCK)
    assert good["rc"] == 0, good["out"]
    bad_lock = SIX_LOCK.replace("4721f391ed90541f", "4721f391ed90541e")
    bad = _play(tmp_path, bad_lock)
    assert bad["rc"] != 0 and "DO NOT MATCH THE HASHES" in bad["out"]
    link = tmp_path / "envs" / "small"
    assert os.readlink(link) == f"small-{good['key']}"
    # What an interrupted run leaves behind: a staging directory; the next run removes it.
    (tmp_path / "envs" / ".staging-small-0123456789ab" / "lib").mkdir(parents=True)
    after = _play(tmp_path, SIX_LOCK)
    assert after["rc"] == 0 and after["changed"], after["out"]
    assert any("remove stale staging" in a for a in after["actions"])
    assert not list((tmp_path / "envs").glob(".staging-*"))
    assert os.readlink(link) == f"small-{good['key']}"


@needs_local_index
def test_a_real_directory_in_the_way_is_refused(tmp_path):
    (tmp_path / "envs" / "small").mkdir(parents=True)
    result = _play(tmp_path, SIX_LOCK)
    assert result["rc"] != 0 and "not a symlink" in result["out"]
    shutil.rmtree(tmp_path / "envs")


# ---- a build step never outlives its deadline or the module (docs/decisions.md, issue 17) ----


def _gone(pid: int, within: float) -> bool:
    """True when process `pid` has ended (or is a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def _wait_for_pid(path: Path, within: float = 20) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def test_a_step_still_running_at_the_deadline_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    step = [sys.executable, "-c",
            "import subprocess, sys, time\n"
            f"p = subprocess.Popen(['sleep', '300'])\nopen({str(pidfile)!r}, 'w').write(str(p.pid))\n"
            "time.sleep(300)\n"]
    started = time.monotonic()
    with pytest.raises(pe.BuildError, match=r"^Timeout exceeded: pip install was still running"):
        pe.run(step, "pip install", deadline=time.time() + 2)
    assert time.monotonic() - started < 30
    assert _gone(_wait_for_pid(pidfile), within=5), "the step's own child survived the deadline"


def test_a_step_that_ends_in_time_returns_its_output_and_a_failing_one_raises():
    assert pe.run([sys.executable, "-c", "print('ok')"], "step", deadline=time.time() + 60).strip() == "ok"
    with pytest.raises(pe.BuildError, match=r"step failed \(exit 3\)"):
        pe.run([sys.executable, "-c", "raise SystemExit(3)"], "step", deadline=time.time() + 60)
    with pytest.raises(pe.BuildError, match=r"^Timeout exceeded before step"):
        pe.run(["true"], "step", deadline=time.time() - 1)


def test_a_step_dies_with_a_killed_module(tmp_path):
    """SIGKILL to the module (what an async watchdog or a killed controller does) ends its build step too,
    even though the step runs in its own session: nothing goes on installing or cleaning up afterwards."""
    pidfile = tmp_path / "step.pid"
    step_code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    module_code = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'collections')!r})\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(MODULE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"m.run([sys.executable, '-c', {step_code!r}], 'pip install')\n"
    )
    module_proc = subprocess.Popen([sys.executable, "-c", module_code])
    try:
        step_pid = _wait_for_pid(pidfile)
        assert os.getsid(step_pid) == step_pid  # its own session: a killpg of the module's group misses it
        module_proc.kill()
        module_proc.wait(timeout=10)
        assert _gone(step_pid, within=5), "the build step outlived the killed module"
    finally:
        module_proc.kill()
