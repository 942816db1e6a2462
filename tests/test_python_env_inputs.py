"""Module dlrig.rig.python_env refuses a name, prefix or import that could reach outside its prefix or run
code before it touches the file system, and never shows its index URLs (they may carry credentials).

Run through ansible-playbook on localhost (the module's real argument handling, no_log included); every
case fails in validation, so no package index is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = "six==1.17.0 --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"
SECRET = "SECRET-TOKEN-abc123"


def play(tmp_path: Path, verbose: bool = False, **args: Any) -> tuple[int, str, dict[str, Any]]:
    """rc, output and the registered result of one python_env task with ``args`` (ignore_errors)."""
    module_args = {"name": "small", "prefix": str(tmp_path / "a" / "b" / "envs"), "python": sys.executable,
                   "lock": LOCK, **args}
    save = {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")},
            "check_mode": False}
    task = {"dlrig.rig.python_env": module_args, "register": "r", "ignore_errors": True}
    playbook = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [task, save]}]
    (tmp_path / "play.yml").write_text(json.dumps(playbook))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_CALLBACKS_ENABLED="",
               ANSIBLE_FACT_CACHING="memory", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    cmd = [str(playbook_bin), "-i", "localhost,", str(tmp_path / "play.yml")]
    cmd += ["-vvv"] if verbose else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    result = json.loads((tmp_path / "r.json").read_text())
    return proc.returncode, proc.stdout + proc.stderr, result


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} - {"play.yml", "r.json"}


@pytest.mark.parametrize(("args", "word"), [
    ({"name": "/../../x/target"}, "name"),
    ({"name": "../x"}, "name"),
    ({"name": ".hidden"}, "name"),
    ({"name": "a/b"}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "ok\nname"}, "name"),
    ({"prefix": "relative/envs"}, "prefix"),
    ({"prefix": "/opt/../etc"}, "prefix"),
    ({"imports": ["six; open('pwned', 'w')"]}, "imports"),
    ({"imports": ["__import__('os').system('touch pwned')"]}, "imports"),
    ({"python": "/usr/bin/python3\n-c"}, "python"),
])
def test_a_path_or_code_forming_parameter_is_refused_before_the_file_system(
    tmp_path: Path, args: dict[str, Any], word: str
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "target.lock").write_text("keep me\n")
    before = files(tmp_path)
    _, _, result = play(tmp_path, **args)
    assert result["failed"] is True and result["msg"].startswith(word), result["msg"]
    # Nothing created or truncated: not the prefix, not a lock file, not x/target.lock outside the prefix.
    assert files(tmp_path) == before
    assert (tmp_path / "x" / "target.lock").read_text() == "keep me\n"
    assert not (tmp_path / "pwned").exists()


def test_a_valid_dotted_import_and_name_pass_the_checks() -> None:
    import importlib.util
    import sys

    if str(ROOT / "collections") not in sys.path:  # the module imports the collection's module_utils
        sys.path.insert(0, str(ROOT / "collections"))
    spec = importlib.util.spec_from_file_location(
        "dlrig_python_env", ROOT / "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.check_params({"name": "pytorch-2.9_cu130", "prefix": "/opt/dlrig/envs",
                         "python": "/usr/bin/python3", "cert": "",
                         "imports": ["torch", "tensorflow.keras", "_private"], "index_url": "",
                         "extra_index_urls": [], "find_links": [], "trusted_hosts": []})


def test_index_urls_never_appear_in_the_output_or_the_invocation(tmp_path: Path) -> None:
    urls = {"index_url": f"https://user:{SECRET}@pypi.example.invalid/simple",
            "extra_index_urls": [f"https://user:{SECRET}-2@download.example.invalid/whl"],
            "find_links": [f"https://user:{SECRET}-3@wheels.example.invalid/"]}
    _, out, result = play(tmp_path, verbose=True, name="../bad", **urls)
    assert result["failed"] is True
    assert SECRET not in out
    assert SECRET not in json.dumps(result)
    # -vvv shows the failed task's invocation: the URLs are there, masked.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in out


def test_the_lock_generation_task_hides_its_command_line() -> None:
    import yaml

    tasks = yaml.safe_load((ROOT / "roles" / "python_env" / "tasks" / "lock.yml").read_text())
    task = next(t for t in tasks if "python_env_lock_command" in str(t.get("ansible.builtin.command", "")))
    assert task["no_log"] is True
