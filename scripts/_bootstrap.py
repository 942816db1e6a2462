"""What scripts/preflight.py and scripts/init.py do first: make sure they run in the controller's .venv.

Standard library only: it runs before anything the venv provides can be imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def into_controller_venv(script: str, needs: str, what: str, command: str) -> None:
    """Return when ``needs`` (a module name) is importable; else re-execute ``script`` with the controller's
    .venv Python when there is one and this is not it; else print a one-line hint naming ``command`` and
    exit 2. ``what`` names the missing piece in the hint (e.g. "Ansible")."""
    if importlib.util.find_spec(needs) is not None:
        return
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
        os.execv(str(venv_python), [str(venv_python), str(Path(script).resolve()), *sys.argv[1:]])
    name = Path(script).stem
    sys.stderr.write(f"{name}: {what} is not installed for this Python; run `{command}` "
                     "(it creates the controller's .venv on first use)\n")
    sys.exit(2)
