"""The supported OS releases as the preflight and the roles see them.

``os_releases`` in dlrig/data/matrix.yml is the one list of supported releases: the preflight resolves a
stack only for a release it names (:func:`dlrig.stack.resolver.find_os`), the README's support table
lists it (scripts/support_table.py), and every role that keeps per-release data finds its vars file here
(the ``dlrig.rig.release_vars`` lookup of the local collection). A role's ``vars/`` holds ``main.yml``
and data files named after a listed release, most specific first: ``Ubuntu-18.04.yml``,
``Ubuntu-18.yml``, then ``Ubuntu.yml`` for every listed Ubuntu release.
"""

from __future__ import annotations

import re
from pathlib import Path

from dlrig.errors import printable
from dlrig.stack.matrix import Matrix, OsSpec

__all__ = ["not_supported", "release_files", "role_vars_file", "unnamed_release_files", "vars_names"]

#: A vars file named after a distribution or one of its releases ("Ubuntu.yml", "Debian-12.yml").
_RELEASE_FILE = re.compile(r"^[A-Z][A-Za-z]*(-[0-9][0-9.]*)?\.yml$")


def not_supported(m: Matrix, distribution: str, release: str) -> str:
    """The one sentence for a release outside the list (the preflight's and the roles')."""
    supported = ", ".join(o.label for o in m.os_releases)
    return (f"{printable(str(distribution), 60)} {printable(str(release), 40)} is not supported; "
            f"supported releases: {supported}")


def vars_names(spec: OsSpec) -> tuple[str, ...]:
    """The names a role's data file for ``spec`` may have, most specific first: ``Ubuntu-18.04.yml``,
    ``Ubuntu-18.yml``, ``Ubuntu.yml`` (Debian 12: ``Debian-12.yml``, ``Debian.yml``)."""
    major = spec.release.split(".")[0]
    names = (f"{spec.distribution}-{spec.release}.yml", f"{spec.distribution}-{major}.yml",
             f"{spec.distribution}.yml")
    return tuple(dict.fromkeys(names))


def role_vars_file(vars_dir: Path, spec: OsSpec) -> Path | None:
    """The most specific data file of ``spec`` in a role's ``vars/``, None when it has none."""
    for name in vars_names(spec):
        if (vars_dir / name).is_file():
            return vars_dir / name
    return None


def release_files(vars_dir: Path) -> list[str]:
    """The names of the per-release data files in a role's ``vars/`` (all but ``main.yml``)."""
    return sorted(p.name for p in vars_dir.glob("*.yml") if p.name != "main.yml")


def unnamed_release_files(m: Matrix, vars_dir: Path) -> list[str]:
    """The data files in ``vars_dir`` that no listed release would load (a release dropped from the
    list, a typo, or a release nobody added to the list)."""
    named = {name for spec in m.os_releases for name in vars_names(spec)}
    return [name for name in release_files(vars_dir) if name not in named or not _RELEASE_FILE.match(name)]
