"""Where the tests find command-line tools: as dlrig finds them (dlrig/upgrade/live.py, dlrig/locks.py).

The environment of the interpreter running pytest first (its ``bin/``, where ``pip install`` put
Ansible and uv), then ``PATH``; never a path of one checkout such as ``.venv/``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def tool(name: str) -> str | None:
    """The ``name`` executable beside ``sys.executable``, else on ``PATH``, else None."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    return shutil.which(name)
