"""Shared fixtures of the default scenario's testinfra tests (Molecule runs them on every instance).

Each role's owner adds ``test_<role>.py`` next to this file. Fixtures:

- ``host``: testinfra's own, connected through the Molecule inventory (``DOCKER_HOST`` is inherited).
- ``inventory_vars``: the host's variables as Ansible resolves them from the Molecule inventory
  (``molecule/resources/inventory``: ``hardware``, ``os``, the roles' mirror variables ...).
- ``resolved``: the stack the preflight resolves for the host (``driver``, ``torch``, ...).
- ``gpu_count``: the number of GPUs the inventory declares (0 here: GPU steps are skipped).
- ``mirror_url``: base URL of the local test apt mirror (served on the host; host networking).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

# What the Molecule inventory's nvidia_driver_repo_base_url renders to (molecule/resources/env.sh exports it).
MIRROR_URL = os.environ.get("DLRIG_MIRROR_URL") or (
    f"http://127.0.0.1:{os.environ.get('DLRIG_MIRROR_PORT', '8765')}"
)


@pytest.fixture
def inventory_vars(host: Any) -> dict[str, Any]:
    return dict(host.ansible.get_variables())


@pytest.fixture
def resolved(host: Any, inventory_vars: dict[str, Any]) -> dict[str, str]:
    """The stack the preflight resolves for this host (dlrig's own stack check on the same inventory
    variables): what the roles must have installed."""
    from dlrig.checks.stack import check_stack, role_facts
    from dlrig.plan.parse import parse_host

    result = check_stack(parse_host(host.backend.get_hostname(), inventory_vars))
    assert result.status in ("ok", "warn"), result.message
    return {key: str(value) for key, value in role_facts(result.figures).items()}


@pytest.fixture
def gpu_count(inventory_vars: dict[str, Any]) -> int:
    gpus = inventory_vars.get("hardware", {}).get("gpus") or []
    return sum(int(g.get("count", 1)) for g in gpus)


@pytest.fixture
def mirror_url() -> str:
    return MIRROR_URL


def run_ok(host: Any, command: str, *args: str) -> str:
    """Run a command on the target, fail the test with its output unless it exits 0; return stdout."""
    result = host.run(command, *args)
    assert result.rc == 0, f"{result.command!r} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)
