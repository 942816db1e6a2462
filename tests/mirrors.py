"""The package mirror of the tests that install or lock without the internet, read at run time.

Nothing here names a machine's paths: the mirror is what the environment says, in this order
(the first source that names anything wins, each field on its own):

1. ``DLRIG_TEST_INDEX_URL``, ``DLRIG_TEST_EXTRA_INDEX_URLS``, ``DLRIG_TEST_FIND_LINKS``;
2. pip's ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``;
3. pip's own configuration (``pip config list`` of the Python running pytest).

Lists are separated by white space, as pip reads them. A test asks :func:`serves` whether the mirror has
a project (a ``file://`` index or a find-links folder is looked at; an ``http(s)`` index is trusted).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from dlrig.locks import Mirrors

_FIELDS = ("index-url", "extra-index-url", "find-links")
_ENV = {
    "index-url": ("DLRIG_TEST_INDEX_URL", "PIP_INDEX_URL"),
    "extra-index-url": ("DLRIG_TEST_EXTRA_INDEX_URLS", "PIP_EXTRA_INDEX_URL"),
    "find-links": ("DLRIG_TEST_FIND_LINKS", "PIP_FIND_LINKS"),
}


@cache
def _pip_config() -> dict[str, list[str]]:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        m = re.match(r"^[^.]*\.(?P<key>[a-z-]+)='(?P<value>.*)'$", line.strip())
        if m and m.group("key") in _FIELDS:
            found.setdefault(m.group("key"), []).extend(m.group("value").split())
    return found


def _field(key: str) -> list[str]:
    for name in _ENV[key]:
        value = os.environ.get(name, "").split()
        if value:
            return value
    return _pip_config().get(key, [])


@cache
def package_mirror() -> Mirrors | None:
    """The mirror the environment names, or None when it names none (the tests then skip, and fail in CI)."""
    index, extra, links = _field("index-url"), _field("extra-index-url"), _field("find-links")
    if not (index or extra or links):
        return None
    urls = index[:1] or extra[:1]
    rest = [u for u in [*index[1:], *extra] if u not in urls]
    # Without any index: a find-links folder alone, and no index at all (pip's --no-index).
    return Mirrors(urls[0] if urls else "", tuple(rest), tuple(links))


def _local(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(url) if not parsed.scheme else None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def serves(mirror: Mirrors | None, project: str) -> bool:
    """Whether ``mirror`` can offer ``project`` (PEP 503 names)."""
    if mirror is None:
        return False
    for url in (mirror.index_url, *mirror.extra_index_urls):
        if not url:
            continue
        local = _local(url)
        if local is None or (local / _normal(project)).is_dir():
            return True
    for link in mirror.find_links:
        local = _local(link)
        if local is None:
            return True
        if local.is_dir() and any(
            _normal(p.name).startswith(_normal(project) + "-") for p in local.iterdir()
        ):
            return True
    return False
