"""``dlrig init --connection ssh ADDRESS``: the same detection, run on the box over Ansible.

Two ad-hoc runs against an inventory of one host (``ADDRESS,``), each writing its result with
``--tree``: ``dlrig.rig.hardware_facts`` (the live preflight's detection module) and
``ansible.builtin.setup`` limited to the hardware and distribution facts (drives, board, release).
:func:`commands` builds the argument lists (tested without a network); :func:`probe` runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dlrig.errors import InputError
from dlrig.init.probe import Probe, from_ansible
from dlrig.upgrade.live import DetectionError, ansible_command

ROOT = Path(__file__).resolve().parents[2]
SETUP_ARGS = "gather_subset=!all,!min,hardware,distribution"


def _target(address: str) -> tuple[str, list[str]]:
    """``user@host`` -> (host, ["-u", user])."""
    user, sep, host = address.rpartition("@")
    return (host, ["-u", user]) if sep and user else (address, [])


def commands(address: str, trees: Sequence[str], *, connection: str = "ssh",
             module_args: Mapping[str, str] | None = None,
             extra: Sequence[str] = ()) -> list[list[str]]:
    """The two ``ansible`` command lines (detection module, then setup), each writing to its tree dir."""
    host, user = _target(address)
    base = ["ansible", host, "-i", f"{host},", "-c", connection, *user, *extra]
    detect = [*base, "-m", "dlrig.rig.hardware_facts", "--tree", trees[0]]
    if module_args:
        detect[-2:-2] = ["-a", " ".join(f"{k}={v}" for k, v in module_args.items())]
    setup = [*base, "-m", "ansible.builtin.setup", "-a", SETUP_ARGS, "--tree", trees[1]]
    return [detect, setup]


def _result(tree: str, host: str, address: str) -> Mapping[str, Any]:
    path = Path(tree, host)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(address, "--connection", "Ansible returned no result (see its output above)") \
            from None
    if data.get("unreachable") or data.get("failed"):
        msg = " ".join(str(data.get("msg") or "failed").split())
        raise InputError(address, "--connection", f"detection over Ansible failed: {msg[:300]}")
    facts = data.get("ansible_facts")
    return facts if isinstance(facts, Mapping) else {}


def probe(address: str, *, connection: str = "ssh", module_args: Mapping[str, str] | None = None,
          extra: Sequence[str] = ()) -> Probe:
    """Detect the box at ``address`` over Ansible (InputError with Ansible's reason when it fails)."""
    host, _ = _target(address)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "minimal"}
    with tempfile.TemporaryDirectory(prefix="dlrig-init-") as tmp:
        trees = [os.path.join(tmp, "detect"), os.path.join(tmp, "setup")]
        try:
            ansible = ansible_command()  # the controller's own Ansible first, as the live preflight finds it
        except DetectionError as exc:
            raise InputError(address, "--connection", str(exc)) from None
        for argv in commands(address, trees, connection=connection, module_args=module_args, extra=extra):
            argv = [ansible, *argv[1:]]
            done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0 and not Path(argv[-1], host).exists():
                sys.stderr.write(done.stdout + done.stderr)
        facts = {**_result(trees[1], host, address), **_result(trees[0], host, address)}
    return from_ansible(facts, f"over Ansible ({connection}) from {address}")
