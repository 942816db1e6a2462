"""Fixtures of the reference scenario's testinfra tests (tests/test_reference.py).

- ``host``: testinfra's own, connected through the Molecule inventory (``DOCKER_HOST`` is inherited).
- ``inventory_vars``: the host's variables as Ansible resolves them: the shipped
  ``inventory/host_vars/deep-al.yml`` and the scenario's ``inventory/group_vars/all/reference.yml``.
- ``resolved``: the stack the preflight resolves for the host (dlrig's own stack check on those variables).
- ``mirror_dir``: the test mirror's directory on this machine (``DLRIG_MIRROR_DIR``, exported by
  molecule/resources/env.sh), where build.sh wrote the checksum of the standalone CPython double.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def inventory_vars(host: Any) -> dict[str, Any]:
    return dict(host.ansible.get_variables())


@pytest.fixture
def resolved(host: Any, inventory_vars: dict[str, Any]) -> dict[str, str]:
    from dlrig.checks.stack import check_stack, role_facts
    from dlrig.plan.parse import parse_host

    result = check_stack(parse_host(host.backend.get_hostname(), inventory_vars))
    assert result.status in ("ok", "warn"), result.message
    return {key: str(value) for key, value in role_facts(result.figures).items()}


@pytest.fixture
def mirror_dir() -> Path:
    value = os.environ.get("DLRIG_MIRROR_DIR", "")
    assert value, "DLRIG_MIRROR_DIR is not set: bring the infrastructure up (molecule/resources/infra-up.sh)"
    return Path(value)


def run_ok(host: Any, command: str, *args: str) -> str:
    """Run a command on the target, fail the test with its output unless it exits 0; return stdout."""
    result = host.run(command, *args)
    assert result.rc == 0, f"{result.command!r} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)
