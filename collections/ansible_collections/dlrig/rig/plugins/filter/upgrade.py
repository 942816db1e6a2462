# dlrig.rig.env_changes: what an installed framework environment lacks against the resolved stack
# (the GPU-upgrade playbook leaves an environment alone when the list is empty).
# dlrig.rig.slurm_summary: the upgrade summary's lines for a host of a Slurm cluster (dlrig.upgrade.slurm).
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[6]
if (_ROOT / "dlrig" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))


def env_changes(installed: Any, resolved: Any, env: str) -> list[str]:
    from dlrig.upgrade.driver import installed_versions, stack_diff

    return stack_diff(installed_versions(installed if isinstance(installed, dict) else {}),
                      resolved if isinstance(resolved, dict) else {}, env)


def slurm_summary(host: str, groups: Any, rendered: Any, gres: Any = (), drained: Any = "") -> list[str]:
    from dlrig.upgrade.slurm import slurm_summary as summary

    return summary(str(host), groups if isinstance(groups, dict) else {},
                   rendered if isinstance(rendered, dict) else {},
                   [str(g) for g in gres or []], str(drained or ""))


class FilterModule:
    """dlrig's filters for the GPU-upgrade flow."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"env_changes": env_changes, "slurm_summary": slurm_summary}
