#!/usr/bin/python
# dlrig.rig.role_state: the "nothing changed" fast path of playbooks/provision.yml, host side.
# Runs under the target's system Python (3.6 on Ubuntu 18.04): no f-strings with '=', no walrus, no
# dataclasses. The controller side (plugins/action/role_state.py) computes each role's input fingerprint
# and hands it here with the description of the state the role manages.
DOCUMENTATION = r"""
---
module: role_state
short_description: Tell which provisioning roles are up to date on a host, and record that a role converged
description:
  - In C(probe) mode (read-only, also in check mode), for each role compares the stamp that its last
    successful run left under I(state_dir) with the role's current input fingerprint and with a digest of the
    state it manages, computed now; a role is up to date when both match. A role after one that is not up to
    date is not up to date either (the roles run in order and later ones build on earlier ones).
  - In C(stamp) mode writes, for each role named, a stamp with its input fingerprint and the digest of its
    state as it is now. Never writes in check mode.
  - The state digest covers the installed packages (one C(dpkg-query) for all roles), the described paths
    (a file's content hash, mode and owner; a directory's mode, owner and entry names; a symlink's target;
    a glob's matches), the described systemd units (enabled/active) and, where asked, the boot id.
  - Use it through the action plugin of the same name, which computes the fingerprints on the controller.
version_added: "0.1.0"
author: dlrig contributors
options:
  mode:
    description: C(probe) compares, C(stamp) records.
    type: str
    choices: [probe, stamp]
    default: probe
  roles:
    description:
      - The roles in the order they run, each a dict with C(name), C(fingerprint) (str), C(paths) (list of
        paths or globs), C(units) (list of systemd unit names), C(dpkg) (bool) and C(boot) (bool).
    type: list
    elements: dict
    required: true
  state_dir:
    description: Where the stamps live, one C(<role>.json) each.
    type: path
    default: /var/lib/dlrig/state
  selected:
    description:
      - The roles this run will run when they are not up to date (those the tags select); only they make the
        roles after them run. Default every role.
    type: list
    elements: str
  force:
    description: Names of roles to report as not up to date whatever their stamps say (probe mode).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Find the roles that are up to date
  dlrig.rig.role_state:
    roles: [base, nvidia_driver]
  register: dlrig_role_state

- name: Record that they converged (the specs the probe returned, computed before any role ran)
  dlrig.rig.role_state:
    mode: stamp
    roles: "{{ dlrig_role_state.specs }}"
  when: not ansible_check_mode
"""

RETURN = r"""
up_to_date:
  description: Role name -> whether its stamp matches its inputs and its state (probe mode).
  returned: success
  type: dict
reasons:
  description:
    - Role name -> why it runs (no stamp, inputs changed, state changed, forced, an earlier role runs).
  returned: success
  type: dict
digests:
  description: Role name -> the digest of its state now.
  returned: success
  type: dict
"""

import glob
import hashlib
import json
import os
import re
import stat
import subprocess
from typing import Any, Dict, List, Optional, Tuple, Union

from ansible.module_utils.basic import AnsibleModule

STAMP_VERSION = 1
NAME = re.compile(r"^[A-Za-z0-9_]+$")


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_path(path: str) -> str:
    """A stable description of one path: what a run of the role would have to repair if it changed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return "error:%s" % exc.__class__.__name__
    owner = "%o:%d:%d" % (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        return "link:%s:%s" % (target, "ok" if os.path.exists(path) else "dangling")
    if stat.S_ISDIR(info.st_mode):
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            names = ["error:%s" % exc.__class__.__name__]
        listing = hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape")).hexdigest()
        return "dir:%s:%s" % (owner, listing)
    if stat.S_ISREG(info.st_mode):
        try:
            return "file:%s:%s" % (owner, _sha256_file(path))
        except OSError as exc:
            return "file:%s:error:%s" % (owner, exc.__class__.__name__)
    return "other:%s" % owner


def describe_paths(patterns: List[str]) -> Dict[str, Union[str, Dict[str, str]]]:
    """Each pattern's description; a glob lists its matches (sorted), none is a state of its own."""
    out: Dict[str, Union[str, Dict[str, str]]] = {}
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            out[pattern] = {m: describe_path(m) for m in matches} if matches else "nomatch"
        else:
            out[pattern] = describe_path(pattern)
    return out


def _run(argv: List[str]) -> Tuple[Optional[int], str]:
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, check=False)
    except OSError:
        return None, ""
    return proc.returncode, proc.stdout


def dpkg_digest() -> str:
    """One query for every installed package: name, architecture, version and the selection (hold)."""
    code, out = _run(["dpkg-query", "-W", "-f", "${binary:Package} ${Version} ${Status}\n"])
    if code is None:
        return "no-dpkg"
    lines = sorted(line for line in out.splitlines() if line.strip())
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def unit_state(unit: str) -> str:
    """``enabled/active`` as systemctl says (``not-found`` and friends are states too)."""
    enabled = _run(["systemctl", "is-enabled", unit])[1].strip() or "unknown"
    active = _run(["systemctl", "is-active", unit])[1].strip() or "unknown"
    return "%s/%s" % (enabled, active)


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def state_digest(spec: Dict[str, Any], cache: Dict[str, str]) -> str:
    """The digest of the state one role manages; ``cache`` shares the dpkg query and the boot id."""
    parts: Dict[str, Any] = {"paths": describe_paths(spec.get("paths") or [])}
    if spec.get("units"):
        parts["units"] = {u: unit_state(u) for u in spec["units"]}
    if spec.get("dpkg"):
        if "dpkg" not in cache:
            cache["dpkg"] = dpkg_digest()
        parts["dpkg"] = cache["dpkg"]
    if spec.get("boot"):
        if "boot" not in cache:
            cache["boot"] = boot_id()
        parts["boot"] = cache["boot"]
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def read_stamp(state_dir: str, role: str) -> Optional[Dict[str, Any]]:
    try:
        with open(os.path.join(state_dir, role + ".json")) as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("version") == STAMP_VERSION else None


def probe(roles: List[Dict[str, Any]], state_dir: str, force: List[str],
          selected: Optional[List[str]] = None) -> Tuple[Dict[str, bool], Dict[str, str], Dict[str, str]]:
    """(up_to_date, reasons, digests) for the roles in their order. A role that is not up to date makes the
    roles after it run, unless this run does not select it (tags): then it does not run and changes
    nothing."""
    cache: Dict[str, str] = {}
    up_to_date: Dict[str, bool] = {}
    reasons: Dict[str, str] = {}
    digests: Dict[str, str] = {}
    earlier: Optional[str] = None
    for spec in roles:
        name = spec["name"]
        digests[name] = state_digest(spec, cache)
        stamp = read_stamp(state_dir, name)
        if name in force:
            reason = "forced (dlrig_force)"
        elif earlier is not None:
            reason = "an earlier role runs (%s)" % earlier
        elif stamp is None:
            reason = "no stamp of an earlier successful run"
        elif stamp.get("fingerprint") != spec.get("fingerprint"):
            reason = "its inputs changed (inventory, role files or host facts)"
        elif stamp.get("state") != digests[name]:
            reason = "the state it manages changed (a package, file, service or environment)"
        else:
            reason = ""
        up_to_date[name] = not reason
        if reason:
            reasons[name] = reason
            if selected is None or name in selected:
                earlier = earlier or name
    return up_to_date, reasons, digests


def write_stamp(state_dir: str, role: str, fingerprint: str, digest: str) -> bool:
    """Write the stamp atomically; True when its content changed."""
    path = os.path.join(state_dir, role + ".json")
    data = {"version": STAMP_VERSION, "role": role, "fingerprint": fingerprint, "state": digest}
    text = json.dumps(data, sort_keys=True, indent=1) + "\n"
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "choices": ["probe", "stamp"], "default": "probe"},
            "roles": {"type": "list", "elements": "dict", "required": True},
            "state_dir": {"type": "path", "default": "/var/lib/dlrig/state"},
            "force": {"type": "list", "elements": "str", "default": []},
            "selected": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    roles = module.params["roles"]
    state_dir = module.params["state_dir"]
    for spec in roles:
        name = spec.get("name")
        if not isinstance(name, str) or not NAME.match(name) or not isinstance(spec.get("fingerprint"), str):
            module.fail_json(msg="role_state: each role needs a name (letters, digits, _) and a fingerprint")
    if module.params["mode"] == "probe":
        up_to_date, reasons, digests = probe(roles, state_dir, module.params["force"],
                                         module.params["selected"])
        module.exit_json(changed=False, up_to_date=up_to_date, reasons=reasons, digests=digests)
    cache: Dict[str, str] = {}
    digests = dict((spec["name"], state_digest(spec, cache)) for spec in roles)
    if module.check_mode:
        module.exit_json(changed=False, digests=digests, up_to_date={}, reasons={})
    changed = False
    try:
        if not os.path.isdir(state_dir):
            os.makedirs(state_dir, 0o755)
        for spec in roles:
            role = spec["name"]
            changed = write_stamp(state_dir, role, spec["fingerprint"], digests[role]) or changed
    except OSError as exc:
        module.fail_json(msg="role_state: cannot write the stamps under %s: %s" % (state_dir, exc))
    module.exit_json(changed=changed, digests=digests, up_to_date={}, reasons={})


if __name__ == "__main__":
    main()
