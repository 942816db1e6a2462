# dlrig.rig.role_state, controller side: each role's input fingerprint, then one call of the module of the
# same name on the host (plugins/modules/role_state.py), which compares it and the digest of the state the
# role manages with the stamp of the role's last successful run.
#
# A role's inputs: its own files and those of the roles it includes (tasks, defaults, vars, templates,
# files, meta), the project's plugins and generated locks, the effective value of every variable the roles
# define (defaults, vars and argument_specs options: role defaults overlaid by the host's variables, then
# the roles' vars, templated as the role would see them before it runs), the expressions the state
# description names (e.g. the detected GPUs) and the host facts that choose what a role does.
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.template import Templar

FACTS = ("distribution", "distribution_release", "distribution_version", "distribution_major_version",
         "os_family", "kernel", "architecture", "virtualization_type", "virtualization_role")
SKIP_DIRS = {"__pycache__", ".pytest_cache"}


def hash_tree(digest: Any, root: Path) -> None:
    """Feed every file under ``root`` (sorted relative paths and contents) into ``digest``."""
    if root.is_file():
        digest.update(b"F" + root.name.encode() + b"\0" + root.read_bytes() + b"\0")
        return
    if not root.is_dir():
        digest.update(b"M" + str(root.name).encode() + b"\0")
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            digest.update(b"F" + rel.encode() + b"\0")
            digest.update(path.read_bytes() if not path.is_symlink() else os.readlink(path).encode())
            digest.update(b"\0")


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class ActionModule(ActionBase):
    """Probe which roles are up to date (one round trip), or stamp the roles that converged."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("mode", "roles", "spec", "roles_dir", "state_dir", "force", "stamp", "selected"))

    def _template(self, templar: Templar, value: Any) -> Any:
        try:
            return templar.template(value, fail_on_undefined=True)
        except AnsibleError as exc:
            # Stable across runs: the kind of error, not its message (which may embed object ids).
            return f"<{type(exc).__name__}>"
        except Exception as exc:  # a filter may raise anything; the fingerprint records it
            return f"<{type(exc).__name__}>"

    def _role_spec(self, name: str, entry: dict[str, Any], roles_dir: Path, project: Path,
                   common: list[str], task_vars: dict[str, Any]) -> dict[str, Any]:
        included = [name] + [r for r in entry.get("includes", []) if r != name]
        digest = hashlib.sha256()
        for role in included:
            digest.update(b"R" + role.encode() + b"\0")
            hash_tree(digest, roles_dir / role)
        for rel in common:
            digest.update(b"C" + rel.encode() + b"\0")
            hash_tree(digest, project / rel)
        defaults: dict[str, Any] = {}
        role_vars: dict[str, Any] = {}
        names: set[str] = set()
        for role in reversed(included):  # the role's own defaults win over those of the roles it includes
            defaults.update(_load_yaml(roles_dir / role / "defaults" / "main.yml"))
            role_vars.update(_load_yaml(roles_dir / role / "vars" / "main.yml"))
            specs = _load_yaml(roles_dir / role / "meta" / "argument_specs.yml").get("argument_specs") or {}
            for spec in specs.values():
                names.update((spec or {}).get("options") or {})
        context = dict(defaults)
        context.update(task_vars)
        context.update(role_vars)
        context["role_path"] = str(roles_dir / name)
        context["role_name"] = name
        templar = Templar(loader=self._loader, variables=context)
        names.update(defaults)
        names.update(role_vars)
        names.difference_update(entry.get("ignore") or [])
        values = {key: (self._template(templar, context[key]) if key in context else "<unset>")
                  for key in sorted(names)}
        inputs = {key: self._template(templar, expr)
                  for key, expr in sorted((entry.get("inputs") or {}).items())}
        facts = task_vars.get("ansible_facts") or {}
        fingerprint = hashlib.sha256(_canonical({
            "files": digest.hexdigest(),
            "values": values,
            "inputs": inputs,
            "facts": {k: facts.get(k) for k in FACTS},
        }).encode()).hexdigest()
        paths = [str(self._template(templar, p)) for p in entry.get("paths") or []]
        units = [str(self._template(templar, u)) for u in entry.get("units") or []]
        return {"name": name, "fingerprint": fingerprint, "paths": paths, "units": units,
                "dpkg": bool(entry.get("dpkg", False)), "boot": bool(entry.get("boot", False))}

    @staticmethod
    def forced_roles(force: Any, roles: list[str]) -> list[str]:
        """dlrig_force: true (every role), false/empty (none), or role names (a list or a comma-separated
        string) whose stamps are ignored."""
        if isinstance(force, bool):
            return list(roles) if force else []
        if force is None:
            return []
        if isinstance(force, str):
            text = force.strip()
            if text.lower() in ("", "false", "no", "0", "off", "n", "f"):
                return []
            if text.lower() in ("true", "yes", "1", "on", "y", "t"):
                return list(roles)
            names = [n.strip() for n in text.split(",") if n.strip()]
        elif isinstance(force, (list, tuple)):
            names = [str(n) for n in force]
        else:
            raise AnsibleError(f"dlrig_force must be true/false or role names, not a {type(force).__name__}")
        unknown = [n for n in names if n not in roles]
        if unknown:
            shown = ", ".join(repr(n)[:40] for n in unknown[:3])
            raise AnsibleError(f"dlrig_force names no role of this play: {shown} (roles: {', '.join(roles)})")
        return names

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._task.args
        mode = str(args.get("mode", "probe"))
        state_dir = str(args.get("state_dir", "/var/lib/dlrig/state"))
        if mode == "stamp":
            # The specs the probe computed before any role ran: recomputing them now would see the facts the
            # roles set and never match the next run's probe.
            module_args = {"mode": "stamp", "roles": args.get("stamp") or [], "state_dir": state_dir}
            result.update(self._execute_module(module_name="dlrig.rig.role_state", module_args=module_args,
                                               task_vars=task_vars))
            return result
        if mode != "probe":
            result.update(failed=True, msg=f"role_state: mode must be probe or stamp, not {mode!r}")
            return result
        task_file = Path(str(self._task.get_path()).rsplit(":", 1)[0])
        roles_dir = Path(str(args.get("roles_dir") or (task_file.parent.parent / "roles"))).resolve()
        project = roles_dir.parent
        spec_path = Path(str(args.get("spec") or (task_file.parent / "files" / "role_state.yml")))
        try:
            spec = _load_yaml(spec_path)
            entries = spec.get("roles") or {}
            wanted = list(args.get("roles") or entries)
            missing = [r for r in wanted if r not in entries or not (roles_dir / r).is_dir()]
            if missing:
                raise AnsibleError(f"role_state: {spec_path.name}: no state description or role folder for "
                                   f"{', '.join(missing)}")
            common = [str(c) for c in spec.get("common") or []] + [spec_path.relative_to(project).as_posix()
                                                                  if spec_path.is_relative_to(project)
                                                                  else str(spec_path)]
            specs = [self._role_spec(r, entries[r], roles_dir, project, common, task_vars) for r in wanted]
        except (AnsibleError, OSError, yaml.YAMLError) as exc:
            result.update(failed=True, msg=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return result
        force = args.get("force", False)
        try:
            forced = self.forced_roles(force, wanted)
        except AnsibleError as exc:
            result.update(failed=True, msg=f"{task_vars.get('inventory_hostname', '?')}: {exc}")
            return result
        module_args = {"mode": "probe", "roles": specs, "state_dir": state_dir, "force": forced}
        if args.get("selected") is not None:
            module_args["selected"] = [str(r) for r in args["selected"]]
        result.update(self._execute_module(module_name="dlrig.rig.role_state", module_args=module_args,
                                           task_vars=task_vars))
        result["specs"] = specs
        return result
