"""Where the tests find command-line tools: as dlrig finds them (dlrig/upgrade/live.py, dlrig/locks.py).

The environment of the interpreter running pytest first (its ``bin/``, where ``pip install`` put
Ansible and uv), then ``PATH``; never a path of one checkout such as ``.venv/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def tool(name: str) -> str | None:
    """The ``name`` executable beside ``sys.executable``, else on ``PATH``, else None."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def play_on_localhost(project: Path, play: Path, variables: Path,
                      *extra: str) -> subprocess.CompletedProcess[str]:
    """``ansible-playbook -i localhost, PLAY -e @VARIABLES EXTRA...`` from ``project``, as the role tests
    run one role on this machine: without the project's ansible.cfg, a memory fact cache (a fixture host's
    facts never land in .cache/facts), no callbacks beside the default one, JSON results (one line per
    message, which the assertions read whole), no colour and no retry files."""
    env = dict(
        os.environ,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_CALLBACKS_ENABLED="",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CACHE_PLUGIN="memory",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )
    env.pop("ANSIBLE_CONFIG", None)
    return subprocess.run(
        [str(tool("ansible-playbook")), "-i", "localhost,", str(play), "-e", f"@{variables}", *extra],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
