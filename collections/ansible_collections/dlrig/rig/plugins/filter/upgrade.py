# dlrig.rig.env_changes: what an installed framework environment lacks against the resolved stack
# (the GPU-upgrade playbook leaves an environment alone when the list is empty).
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


class FilterModule:
    """dlrig's filters for the GPU-upgrade flow."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"env_changes": env_changes}
