#!/usr/bin/env python3
"""Print, as shell exports, the package mirrors the Molecule targets install from (sourced by env.sh).

Nothing in the committed files names a machine's mirror: it is read here at run time, in this order
(the first source that names anything wins, each field on its own), as tests/mirrors.py reads it:

1. ``DLRIG_TEST_INDEX_URL``, ``DLRIG_TEST_EXTRA_INDEX_URLS``, ``DLRIG_TEST_FIND_LINKS``;
2. pip's ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``;
3. pip's own configuration (``pip config list`` of ``$DLRIG_PYTHON``, else of this Python).

Exports ``DLRIG_TARGET_PIP_INDEX_URL`` (empty: pip's and uv's default), ``DLRIG_TARGET_PIP_EXTRA_INDEX_URLS``
and ``DLRIG_TARGET_PIP_FIND_LINKS`` (white-space separated; the Molecule inventory reads them), and
``DLRIG_PIP_MOUNT_1`` .. ``DLRIG_PIP_MOUNT_6``: Docker volume specs that mount each local folder that exists
read-only at the same path in the target (a ``file://`` index's parent, so that ``../files`` links resolve;
a find-links folder itself). Unused slots mount an empty folder of the work directory at a path of its own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from urllib.parse import unquote, urlparse

SLOTS = 6
_ENV = {
    "index-url": ("DLRIG_TEST_INDEX_URL", "PIP_INDEX_URL"),
    "extra-index-url": ("DLRIG_TEST_EXTRA_INDEX_URLS", "PIP_EXTRA_INDEX_URL"),
    "find-links": ("DLRIG_TEST_FIND_LINKS", "PIP_FIND_LINKS"),
}


def pip_config(python: str) -> dict[str, list[str]]:
    """``{key: values}`` of pip's configuration files (``pip config list``); empty without pip."""
    try:
        done = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        m = re.match(r"^[^.]*\.(?P<key>[a-z-]+)='(?P<value>.*)'$", line.strip())
        if m and m.group("key") in _ENV:
            found.setdefault(m.group("key"), []).extend(m.group("value").split())
    return found


def field(key: str, env: dict[str, str], config: dict[str, list[str]]) -> list[str]:
    for name in _ENV[key]:
        value = env.get(name, "").split()
        if value:
            return value
    return config.get(key, [])


def local_dir(value: str, is_index: bool) -> str | None:
    """The host folder to mount for a mirror value, or None (a remote URL, or nothing there)."""
    parsed = urlparse(value)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
    elif not parsed.scheme and value.startswith("/"):
        path = value
    else:
        return None
    path = os.path.normpath(path)
    if is_index:  # <root>/simple: mount <root>, PEP 503 pages often link to ../../files/...
        path = os.path.dirname(path) or path
    return path if os.path.isdir(path) else None


def exports(env: dict[str, str], config: dict[str, list[str]], work: str) -> dict[str, str]:
    index, extra, links = (field(k, env, config) for k in ("index-url", "extra-index-url", "find-links"))
    dirs: list[str] = []
    for values, is_index in ((index, True), (extra, True), (links, False)):
        for value in values:
            found = local_dir(value, is_index)
            if found and found not in dirs:
                dirs.append(found)
    if len(dirs) > SLOTS:
        raise SystemExit(f"pip_mirrors: {len(dirs)} local mirror folders, Molecule mounts at most {SLOTS}")
    out = {
        "DLRIG_TARGET_PIP_INDEX_URL": " ".join(index[:1]),
        "DLRIG_TARGET_PIP_EXTRA_INDEX_URLS": " ".join([*index[1:], *extra]),
        "DLRIG_TARGET_PIP_FIND_LINKS": " ".join(links),
    }
    for slot in range(1, SLOTS + 1):
        if slot <= len(dirs):
            out[f"DLRIG_PIP_MOUNT_{slot}"] = f"{dirs[slot - 1]}:{dirs[slot - 1]}:ro"
        else:
            empty = os.path.join(work, "empty", f"pip-mount-{slot}")
            os.makedirs(empty, exist_ok=True)
            out[f"DLRIG_PIP_MOUNT_{slot}"] = f"{empty}:/srv/dlrig-unused-mirror-{slot}:ro"
    return out


def main() -> int:
    env = dict(os.environ)
    work = env.get("DLRIG_MOLECULE_WORK", "")
    if not work:
        print("pip_mirrors: DLRIG_MOLECULE_WORK is not set", file=sys.stderr)
        return 2
    config = pip_config(env.get("DLRIG_PYTHON") or sys.executable)
    for name, value in exports(env, config, work).items():
        print(f"{name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
