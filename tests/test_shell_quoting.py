"""No inventory or role variable reaches a shell command line unquoted.

Every ``ansible.builtin.script`` (its cmd and executable run through a shell), every free-form
``ansible.builtin.command`` and any ``shell``/``raw`` task in roles/ and playbooks/ is read: each ``{{ }}`` in
such a command line must end in ``| quote`` (or ``| int`` / ``| float``, which cannot hold shell syntax),
or the task must pass ``argv``. Then the gpu_verify probe task is rendered by Ansible with hostile values
and its command line run by a shell against a test-double interpreter: nothing runs, every argument
arrives whole.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SHELL_MODULES = {"ansible.builtin.script", "script", "ansible.builtin.command", "command",
                 "ansible.builtin.shell", "shell", "ansible.builtin.raw", "raw"}
SAFE_ENDINGS = ("| quote", "| int", "| float")
EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)


def task_files() -> list[Path]:
    files = [*ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("roles/*/handlers/*.yml"),
             *ROOT.glob("playbooks/*.yml"), ROOT / "site.yml"]
    return sorted(f for f in files if f.is_file())


def tasks_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            if key in node:
                yield from tasks_in(node[key])


def command_lines(task: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(module, text) of every string of ``task`` that a shell parses."""
    for module in SHELL_MODULES & set(task):
        args = task[module]
        if isinstance(args, str):
            yield module, args
        elif isinstance(args, dict):
            for key in ("cmd", "executable"):
                if isinstance(args.get(key), str):
                    yield module, args[key]


def unquoted(text: str) -> list[str]:
    return [e.strip() for e in EXPRESSION.findall(text) if not e.strip().endswith(SAFE_ENDINGS)]


def test_every_interpolation_in_a_shell_command_line_is_quoted() -> None:
    found = []
    for path in task_files():
        for task in tasks_in(yaml.safe_load(path.read_text())):
            for module, text in command_lines(task):
                # command's free form is split by shlex, not a shell; quoting it is still the rule (a path
                # with a space splits), so argv or | quote there too.
                found += [f"{path.relative_to(ROOT)}: {task.get('name')!r} ({module}): {{{{ {e} }}}}"
                          for e in unquoted(text)]
    assert found == []


def test_the_check_sees_an_unquoted_interpolation() -> None:
    assert unquoted("probe --env {{ item.name }} --n {{ n | int }} --p {{ p | quote }}") == ["item.name"]


def test_the_gpu_probe_command_line_passes_hostile_values_whole(tmp_path: Path) -> None:
    mark = tmp_path / "pwned"   # the shell runs in tmp_path: `touch pwned` would create it
    hostile_dir = tmp_path / "env $(touch pwned) `touch pwned`"
    hostile_dir.mkdir()
    python = hostile_dir / "python"
    # The test-double interpreter records its arguments (the script path first, then the probe's).
    python.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    python.chmod(0o755)
    tasks = yaml.safe_load((ROOT / "roles" / "gpu_verify" / "tasks" / "frameworks.yml").read_text())
    probe = next(t for t in tasks if "ansible.builtin.script" in t)["ansible.builtin.script"]
    name = "torch'; touch pwned; echo '$HOME\n"
    item = {"item": {"framework": "pytorch $(touch pwned)", "name": name, "python": str(python)}}
    out = tmp_path / "cmd.json"
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"item": item}, "tasks": [
        {"ansible.builtin.include_vars": str(ROOT / "roles" / "gpu_verify" / "defaults" / "main.yml")},
        {"ansible.builtin.copy": {"dest": str(out), "mode": "0644",
                                  "content": "{{ {'cmd': cmd, 'exe': exe} | to_json }}"},
         "vars": {"cmd": probe["cmd"], "exe": probe["executable"]}},
    ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                    "-e", f"ansible_python_interpreter={sys.executable}",
                    "-e", json.dumps({"gpu_verify_report_dir": "/var/lib/dlrig $(touch pwned)"})],
                   check=True, capture_output=True, cwd=ROOT)
    rendered = json.loads(out.read_text())
    script, _, args = rendered["cmd"].partition(" ")
    # What the script module runs: "<executable> <copied script> <arguments>", through /bin/sh.
    run = subprocess.run(["/bin/sh", "-c", f"{rendered['exe']} /probe/{script} {args}"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    argv = json.loads(run.stdout)
    assert not mark.exists()
    assert argv[0] == "/probe/gpu_probe.py"
    assert argv[argv.index("--framework") + 1] == item["item"]["framework"]
    assert argv[argv.index("--env") + 1] == name
    assert argv[argv.index("--previous") + 1] == "/var/lib/dlrig $(touch pwned)/verify-report.json"
