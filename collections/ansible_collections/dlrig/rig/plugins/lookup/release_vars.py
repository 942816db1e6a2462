# dlrig.rig.release_vars: the data file of the host's OS release in a role's vars/ directory, picked
# from the one list of supported releases (dlrig/data/matrix.yml's os_releases, the list the preflight
# reads too), or one error naming the host, its release and the supported ones.
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# The repository root (collections/ansible_collections/dlrig/rig/plugins/lookup/release_vars.py -> 6 up),
# so that dlrig imports even where it is not pip-installed.
_ROOT = Path(__file__).resolve().parents[6]
if (_ROOT / "dlrig" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

DOCUMENTATION = r"""
name: release_vars
author: dlrig
short_description: The data file of the host's OS release in a role's vars directory
description:
  - Finds the host's release (C(ansible_distribution), C(ansible_distribution_version)) in the list of
    supported releases, C(os_releases) in C(dlrig/data/matrix.yml) (the list the preflight reads), and
    returns the most specific data file of that release in the given directory,
    C(<Distribution>-<release>.yml), C(<Distribution>-<major>.yml), then C(<Distribution>.yml).
  - Fails with one message naming the host, its release and the supported releases when the release is
    not in the list, and names the files it looked for when the role has no data for a listed release.
options:
  _terms:
    description: The role's vars directory (one path).
    required: true
"""

EXAMPLES = r"""
- name: Load the data of the host's release
  ansible.builtin.include_vars:
    file: "{{ lookup('dlrig.rig.release_vars', role_path ~ '/vars') }}"
"""

RETURN = r"""
_raw:
  description: The path of the data file (one element).
  type: list
  elements: path
"""


class LookupModule(LookupBase):
    """One term, the role's vars directory; one result, the path of its data file for this host."""

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        try:
            from dlrig.errors import printable
            from dlrig.stack.matrix_file import load_matrix
            from dlrig.stack.releases import not_supported, role_vars_file, vars_names
        except ImportError as exc:
            raise AnsibleLookupError(f"dlrig is not importable from {_ROOT}: {exc}") from exc
        if len(terms) != 1:
            raise AnsibleLookupError(
                f"release_vars takes one term, the role's vars directory (got {len(terms)})")
        variables = variables or {}

        def fact(name: str) -> str:
            value = self._templar.template(variables.get(name, ""))
            return "" if value is None else str(value).strip()

        host = printable(fact("inventory_hostname") or "?", 80)
        distribution, version = fact("ansible_distribution"), fact("ansible_distribution_version")
        if not distribution or not version:
            raise AnsibleLookupError(
                f"{host}: no OS facts (ansible_distribution, ansible_distribution_version): the roles need "
                "the host's facts gathered to find its release")
        m = load_matrix()
        spec = m.find_os(distribution, version)
        if spec is None:
            raise AnsibleLookupError(f"{host}: {not_supported(m, distribution, version)}")
        vars_dir = Path(str(terms[0]))
        found = role_vars_file(vars_dir, spec)
        if found is None:
            raise AnsibleLookupError(
                f"{host}: {vars_dir.parent.name} has no data for {spec.label}, a supported release: none of "
                f"{', '.join(vars_names(spec))} in {vars_dir}")
        return [str(found)]
