"""The fast path's stamps (dlrig.rig.role_state): one per role of playbooks/provision.yml, written by the
converge, root-owned, naming the role and holding its input fingerprint and state digest."""

from __future__ import annotations

import json
from typing import Any

import pytest

ROLES = ["base", "nvidia_driver", "cuda", "pytorch_env", "tensorflow_env", "jupyterlab", "gpu_verify"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_left_its_stamp(host: Any, role: str) -> None:
    stamp = host.file(f"/var/lib/dlrig/state/{role}.json")
    assert stamp.exists and stamp.user == "root" and stamp.mode == 0o644, role
    data = json.loads(stamp.content_string)
    assert data["role"] == role and data["version"] == 1
    assert len(data["fingerprint"]) == 64 and len(data["state"]) == 64
