#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dlrig contributors
# MIT License (see galaxy.yml)
"""Atomic, lock-pinned Python virtual environments (the engine behind roles/python_env)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: python_env
short_description: Build a hash-locked virtual environment atomically and switch a symlink to it
description:
  - Builds a virtual environment from a lock file with hashes (C(pip install --require-hashes --no-deps))
    in a staging directory C(<prefix>/.staging-<name>-<key>), checks that the listed modules import,
    moves it to the versioned directory C(<prefix>/<name>-<key>) and switches the symlink
    C(<prefix>/<name>) to it by renaming a temporary symlink over it (atomic on POSIX).
  - C(key) is the first 12 hex digits of the SHA-256 of the lock text and the base interpreter's path;
    the environment is rebuilt only when one of them changes.
  - A failed or interrupted build never touches the symlink, so the previous environment keeps working;
    stale staging directories of this environment are removed at the start of the next run.
  - Versioned directories other than the active one and the I(keep) most recent previous ones are removed.
  - Runs are serialised per environment with an C(flock) on C(<prefix>/.<name>.lock).
version_added: "0.1.0"
author: dlrig contributors
options:
  name:
    description: Name of the environment; the symlink is C(<prefix>/<name>).
    type: str
    required: true
  prefix:
    description: Directory holding the environments.
    type: path
    default: /opt/dlrig/envs
  python:
    description: Base interpreter that creates the virtual environment (C(python -m venv)).
    type: path
    required: true
  lock:
    description: Text of the lock file (C(name==version --hash=sha256:...) lines, as pip-compile/uv write them).
    type: str
    required: true
  imports:
    description: Modules that must import in the new environment before it is switched in.
    type: list
    elements: str
    default: []
  index_url:
    description: pip C(--index-url); empty for pip's default (PyPI). Never logged (it may carry credentials).
    type: str
    default: ""
  extra_index_urls:
    description: pip C(--extra-index-url) values, in order. Never logged (they may carry credentials).
    type: list
    elements: str
    default: []
  find_links:
    description: pip C(--find-links) values (directories or URLs). Never logged (they may carry credentials).
    type: list
    elements: str
    default: []
  trusted_hosts:
    description: pip C(--trusted-host) values (plain-HTTP mirrors).
    type: list
    elements: str
    default: []
  cert:
    description: CA bundle for pip (C(--cert)); empty for pip's own.
    type: str
    default: ""
  isolated:
    description: Run pip with C(--isolated) (ignore pip.conf and PIP_* variables) so that only these options count.
    type: bool
    default: true
  pip_timeout:
    description: pip's socket timeout in seconds.
    type: int
    default: 60
  installer:
    description:
      - "What fills the staging environment from the lock. C(uv) runs C(uv pip install --require-hashes --no-deps
        --only-binary :all: --compile-bytecode) with the same mirrors (no resolution: every pin is exact and
        hashed); C(pip) runs C(pip install --require-hashes --no-deps --only-binary=:all:), the fallback."
    type: str
    choices: [uv, pip]
    default: pip
  uv:
    description:
      - Path of a uv executable to use. Empty (the default) - the pinned uv of I(uv_version) under I(tools_dir),
        installed there on the first build that needs it, from the same mirrors, by pip with
        C(--require-hashes) against I(uv_hashes).
    type: path
    default: ""
  uv_version:
    description: Release of uv installed under I(tools_dir) when I(uv) is empty (PyPI's C(uv) wheel, a static binary).
    type: str
    default: "0.13.9"
  uv_hashes:
    description: SHA-256 of the C(uv) wheels pip may install (one per platform); required when I(uv) is empty.
    type: list
    elements: str
    default: []
  tools_dir:
    description: Where the pinned uv is installed, one directory per release (C(<tools_dir>/uv-<version>/bin/uv)).
    type: path
    default: /opt/dlrig/tools
  cache_dir:
    description:
      - Persistent download cache on the host, C(<cache_dir>/uv) or C(<cache_dir>/pip); a rebuild links (uv
        hard-links, falling back to copies) or installs cached files instead of downloading them. Empty - no cache.
    type: path
    default: ""
  link_mode:
    description: How uv puts cached files into the environment (C(hardlink) falls back to C(copy) across file systems).
    type: str
    choices: [hardlink, copy]
    default: hardlink
  keep:
    description: How many previous versioned directories to keep for a manual rollback.
    type: int
    default: 1
  timeout:
    description:
      - "Longest time the build may take, in seconds; C(0) for no limit. The module enforces it itself: a step
        still running at the deadline is killed with its whole process group, the staging directory is
        removed and the module fails with C(Timeout exceeded); the previous environment stays active."
      - Run the task with C(async) a little longer than this (roles/python_env adds a margin) as a backstop.
        Ansible's async watchdog alone is not enough (ansible-core 2.16 sets the job's process group in the
        parent after fork, so a module that has already started its children can stay outside the group it
        kills; see docs/decisions.md, "Interrupted environment builds").
    type: int
    default: 0
notes:
  - Supports check mode (reports what would change without building) and diff-free idempotent runs.
  - Each build step (venv, pip, the import check) runs in its own session and is killed by the kernel when
    the module process dies (C(PR_SET_PDEATHSIG)), so a killed module leaves no build running behind it,
    only a staging directory, which the next run removes.
"""

EXAMPLES = r"""
- name: Build the PyTorch environment from its lock
  dlrig.rig.python_env:
    name: pytorch
    python: /usr/bin/python3.11
    lock: "{{ lookup('ansible.builtin.file', 'locks/py3.11-torch2.14.1-cu130.txt') }}"
    imports: [torch, torchvision, fastai]
    extra_index_urls: [https://download.pytorch.org/whl/cu130]
"""

RETURN = r"""
path:
  description: The stable path of the environment (the symlink).
  type: str
  returned: always
version_dir:
  description: The versioned directory the symlink points to after the run (or would, in check mode).
  type: str
  returned: always
key:
  description: The environment's key (lock + interpreter hash, 12 hex digits).
  type: str
  returned: always
lock_sha256:
  description: SHA-256 of the lock text.
  type: str
  returned: always
packages:
  description: Pinned packages of the lock, normalised name to version.
  type: dict
  returned: always
actions:
  description: What was (or, in check mode, would be) done, in order.
  type: list
  elements: str
  returned: always
previous:
  description: The versioned directory the symlink pointed to before the run, if any.
  type: str
  returned: always
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlrig.rig.plugins.module_utils.fetch_error import classify, describe, redact

MARKER = ".dlrig-env.json"
LOCK_COPY = "dlrig-lock.txt"
_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


class BuildError(Exception):
    """A step of the build failed; carries the step's output for the user."""

    def __init__(self, msg, output=""):
        super().__init__(msg)
        self.output = output
        self.free_bytes = None  # free space of the prefix's file system when the build failed


# Below this, a failed step on the prefix's file system is taken for a full disk (some steps hide ENOSPC).
LOW_SPACE = 32 * 1024 * 1024


def free_bytes(path):
    """Bytes free for unprivileged writers on the file system of `path`; None when it cannot be read."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


PR_SET_PDEATHSIG = 1


def _prctl():
    """libc's prctl, or None where there is none (not Linux)."""
    try:
        import ctypes  # pylint: disable=import-outside-toplevel

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None


def step_preexec(parent_pid):
    """preexec_fn of a build step: its own session (one process group to kill at the deadline), and
    SIGKILL from the kernel when the module process dies, so that no step outlives a killed module."""
    prctl = _prctl()  # looked up before fork: nothing is imported in the child

    def preexec():
        os.setsid()
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the module died between fork and prctl
            os._exit(137)

    return preexec


def normalise(name):
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text):
    """Pinned packages of a lock: {normalised name: version}; every pin must carry a hash."""
    packages = {}
    unhashed = []
    logical = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())
    for line in logical:
        if line.startswith("-"):
            continue
        match = _REQ.match(line)
        if not match:
            raise ValueError("lock line is not a pinned requirement (name==version): %r" % line[:120])
        name, version = normalise(match.group(1)), match.group(2)
        if "--hash=" not in line:
            unhashed.append(name)
        packages[name] = version
    if not packages:
        raise ValueError("the lock pins no packages")
    if unhashed:
        raise ValueError("lock entries without --hash: %s" % ", ".join(sorted(unhashed)))
    return packages


def env_key(lock_text, python):
    """12 hex digits naming a build: the lock text and the base interpreter's path."""
    digest = hashlib.sha256()
    digest.update(lock_text.encode("utf-8"))
    digest.update(b"\0")
    digest.update(python.encode("utf-8"))
    return digest.hexdigest()[:12]


def is_complete(version_dir, key):
    """A versioned directory is complete when its marker names this key."""
    try:
        with open(os.path.join(version_dir, MARKER)) as handle:
            return json.load(handle).get("key") == key
    except (OSError, ValueError):
        return False


def current_target(link):
    """Absolute path the environment symlink points to, or None (missing); raises if it is not a symlink."""
    if os.path.islink(link):
        target = os.readlink(link)
        return os.path.normpath(os.path.join(os.path.dirname(link), target))
    if os.path.lexists(link):
        raise BuildError("%s exists and is not a symlink: move it away (dlrig manages it as a symlink)" % link)
    return None


def stale_staging(prefix, name):
    """All staging directories of this environment (any run that is not this one left them)."""
    if not os.path.isdir(prefix):
        return []
    start = ".staging-%s-" % name
    return sorted(os.path.join(prefix, entry) for entry in os.listdir(prefix) if entry.startswith(start))


def versioned_dirs(prefix, name):
    """Versioned directories <name>-<12 hex> of this environment."""
    if not os.path.isdir(prefix):
        return []
    pattern = re.compile(r"^%s-[0-9a-f]{12}$" % re.escape(name))
    return sorted(os.path.join(prefix, e) for e in os.listdir(prefix) if pattern.match(e))


def to_prune(prefix, name, final, previous, keep):
    """Versioned directories beyond the new one and `keep` others (the previously active one first, then newest)."""
    others = [d for d in versioned_dirs(prefix, name) if d != final]
    others.sort(key=lambda d: (d != previous, -os.lstat(d).st_mtime))
    return others[max(keep, 0):]


def pip_command(venv, module):
    """pip invocation for the new environment with the mirror options."""
    params = module.params
    cmd = [os.path.join(venv, "bin", "python"), "-m", "pip"]
    if params["isolated"]:
        cmd.append("--isolated")
    cache = params.get("cache_dir") or ""
    cmd += ["install", "--disable-pip-version-check", "--no-input"]
    cmd += ["--cache-dir", os.path.join(cache, "pip")] if cache else ["--no-cache-dir"]
    cmd += ["--require-hashes", "--no-deps", "--only-binary=:all:", "--timeout", str(params["pip_timeout"])]
    cmd += _mirror_args(params, "--trusted-host")
    if params["cert"]:
        cmd += ["--cert", params["cert"]]
    cmd += ["-r", os.path.join(venv, LOCK_COPY)]
    return cmd


def _mirror_args(params, trusted_flag):
    args = []
    if params["index_url"]:
        args += ["--index-url", params["index_url"]]
    for url in params["extra_index_urls"]:
        args += ["--extra-index-url", url]
    for url in params["find_links"]:
        args += ["--find-links", url]
    for host in params["trusted_hosts"]:
        args += [trusted_flag, host]
    return args


def uv_command(venv, module, uv):
    """uv invocation filling the new environment from the lock: exact hashed pins, no resolution, wheels only."""
    params = module.params
    cmd = [uv, "pip", "install", "--no-progress", "--python", os.path.join(venv, "bin", "python"),
           "--require-hashes", "--no-deps", "--only-binary", ":all:", "--compile-bytecode",
           # As pip does with several indexes: any of them may serve a pinned file (the hash decides).
           "--index-strategy", "unsafe-best-match"]
    if params["isolated"]:
        cmd.append("--no-config")
    if params["cache_dir"]:
        cmd += ["--cache-dir", os.path.join(params["cache_dir"], "uv"), "--link-mode", params["link_mode"]]
    else:
        cmd.append("--no-cache")
    cmd += _mirror_args(params, "--allow-insecure-host")
    cmd += ["-r", os.path.join(venv, LOCK_COPY)]
    return cmd


def uv_env(module):
    """uv's environment: the CA bundle and timeout of the build; isolated builds drop the host's UV_* settings."""
    params = module.params
    env = dict(os.environ)
    if params["isolated"]:
        env = dict((k, v) for k, v in env.items() if not k.startswith("UV_"))
    env["UV_HTTP_TIMEOUT"] = str(params["pip_timeout"])
    if params["cert"]:
        env["SSL_CERT_FILE"] = params["cert"]
    return env


def pinned_uv(params):
    """Path of the uv the build uses: the given one, or the pinned release under tools_dir."""
    if params["uv"]:
        return params["uv"]
    return os.path.join(params["tools_dir"], "uv-%s" % params["uv_version"], "bin", "uv")


def ensure_uv(module, venv, deadline=None):
    """Install the pinned uv under tools_dir with the new environment's pip (hash-checked, same mirrors), once;
    atomically (a temporary directory renamed into place). Returns the uv path."""
    params = module.params
    uv = pinned_uv(params)
    if params["uv"] or os.access(uv, os.X_OK):
        return uv
    if not params["uv_hashes"]:
        raise BuildError("uv_hashes: the pinned uv %s cannot be installed without its wheels' SHA-256"
                         % params["uv_version"])
    home = os.path.dirname(os.path.dirname(uv))
    os.makedirs(os.path.dirname(home), mode=0o755, exist_ok=True)
    tmp = "%s.tmp-%d" % (home, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    req = os.path.join(venv, "dlrig-uv-requirements.txt")
    with open(req, "w") as handle:
        handle.write("uv==%s %s\n" % (params["uv_version"],
                                      " ".join("--hash=sha256:%s" % h for h in params["uv_hashes"])))
    cmd = [os.path.join(venv, "bin", "python"), "-m", "pip"]
    if params["isolated"]:
        cmd.append("--isolated")
    cmd += ["install", "--disable-pip-version-check", "--no-input", "--no-cache-dir", "--require-hashes",
            "--no-deps", "--only-binary=:all:", "--timeout", str(params["pip_timeout"]), "--target", tmp]
    cmd += _mirror_args(params, "--trusted-host")
    if params["cert"]:
        cmd += ["--cert", params["cert"]]
    cmd += ["-r", req]
    try:
        run(cmd, "installing uv %s" % params["uv_version"], deadline)
        os.remove(req)
        if not os.access(os.path.join(tmp, "bin", "uv"), os.X_OK):
            raise BuildError("the uv %s wheel installed no bin/uv" % params["uv_version"])
        shutil.rmtree(home, ignore_errors=True)
        os.rename(tmp, home)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return uv


def install_step(module, venv, deadline=None):
    """Fill the staging environment from its lock copy with the chosen installer."""
    if module.params["installer"] == "uv":
        uv = ensure_uv(module, venv, deadline)
        run(uv_command(venv, module, uv), "uv pip install --require-hashes", deadline, env=uv_env(module))
    else:
        run(pip_command(venv, module), "pip install --require-hashes", deadline)


def run(cmd, what, deadline=None, env=None):
    """Run a build step until `deadline` (time.time() value, None: no limit); raise BuildError with its
    output when it fails, and kill its process group and raise when the deadline passes."""
    left = None if deadline is None else deadline - time.time()
    if left is not None and left <= 0:
        raise BuildError("Timeout exceeded before %s" % what)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            universal_newlines=True, preexec_fn=step_preexec(os.getpid()))
    try:
        output, _ = proc.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise BuildError("Timeout exceeded: %s was still running at the build's time limit; it was stopped"
                         % what, (output or "")[-6000:]) from None
    if proc.returncode != 0:
        raise BuildError("%s failed (exit %d)" % (what, proc.returncode), output[-6000:])
    return output


def relocate(old, new):
    """Rewrite the absolute staging path in the venv's scripts and pyvenv.cfg after the move.

    Shebangs of console scripts and the activate scripts name the directory the venv was created in;
    compiled .pyc files need nothing (CPython fixes up co_filename on load).
    """
    old_b, new_b = old.encode(), new.encode()
    candidates = [os.path.join(new, "pyvenv.cfg")]
    bindir = os.path.join(new, "bin")
    candidates += [os.path.join(bindir, e) for e in os.listdir(bindir)]
    for path in candidates:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        if old_b not in data or b"\0" in data[:1024]:
            continue
        mode = os.stat(path).st_mode
        tmp = path + ".dlrig-tmp"
        with open(tmp, "wb") as handle:
            handle.write(data.replace(old_b, new_b))
        os.chmod(tmp, mode)
        os.rename(tmp, path)


def switch_symlink(link, target_name):
    """Point `link` at `target_name` (relative) by renaming a fresh symlink over it."""
    tmp = "%s.tmp-%d" % (link, os.getpid())
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target_name, tmp)
    os.rename(tmp, link)


def build(module, staging, final, lock_text, key, packages, deadline=None):
    """Create, fill and check the venv in `staging`, then move it to `final` and mark it complete."""
    params = module.params
    os.makedirs(os.path.dirname(staging), exist_ok=True)
    run([params["python"], "-m", "venv", staging], "creating the virtual environment", deadline)
    with open(os.path.join(staging, LOCK_COPY), "w") as handle:
        handle.write(lock_text)
    install_step(module, staging, deadline)
    if params["imports"]:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        code = "import " + ", ".join(params["imports"])
        run([os.path.join(staging, "bin", "python"), "-c", code], "importing %s" % ", ".join(params["imports"]),
            deadline, env=env)
    if os.path.lexists(final):
        shutil.rmtree(final)
    os.rename(staging, final)
    relocate(staging, final)
    run([os.path.join(final, "bin", "python"), "-c", "import sys"], "starting the moved environment")
    marker = {"key": key, "lock_sha256": hashlib.sha256(lock_text.encode()).hexdigest(),
              "python": params["python"], "packages": packages, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}
    tmp = os.path.join(final, MARKER + ".tmp")
    with open(tmp, "w") as handle:
        json.dump(marker, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, os.path.join(final, MARKER))


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
UV_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
IMPORT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def check_params(params):
    """Refuse every parameter that forms a path, a command or code before anything touches the file
    system: raise BuildError naming the parameter (its value is shown only where it cannot be a secret)."""
    name = params["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise BuildError("name %r: use 1-100 letters, digits, '.', '_' and '-', starting with a letter or a "
                         "digit (it names <prefix>/<name>)" % (name,))
    prefix = params["prefix"]
    if not prefix or not os.path.isabs(prefix) or "\0" in prefix or "\n" in prefix \
            or ".." in prefix.split(os.sep):
        raise BuildError("prefix %r: expected an absolute path without '..' or control characters" % (prefix,))
    for key in ("tools_dir", "cache_dir"):
        value = params.get(key) or ""
        if value and (not os.path.isabs(value) or "\0" in value or "\n" in value or ".." in value.split(os.sep)):
            raise BuildError("%s %r: expected an absolute path without '..' or control characters" % (key, value))
    if params.get("uv_version") is not None and not UV_VERSION.match(params["uv_version"]):
        raise BuildError("uv_version %r: expected a release such as 0.13.9" % (params["uv_version"],))
    for digest in params.get("uv_hashes") or []:
        if not isinstance(digest, str) or not SHA256.match(digest):
            raise BuildError("uv_hashes: %r is not a SHA-256 (64 hex digits)" % (digest,))
    for key in ("python", "cert", "uv"):
        if key not in params:
            continue
        if "\0" in params[key] or "\n" in params[key]:
            raise BuildError("%s %r: a path without NUL or newline characters" % (key, params[key]))
    if not params["python"]:
        raise BuildError("python: the base interpreter's path is empty")
    for module_name in params["imports"]:
        if not isinstance(module_name, str) or not IMPORT.match(module_name):
            raise BuildError("imports: %r is not a module name (dotted identifiers only)" % (module_name,))
    for key in ("index_url", "extra_index_urls", "find_links", "trusted_hosts"):
        values = params[key] if isinstance(params[key], list) else [params[key]]
        if any("\0" in v or "\n" in v or "\r" in v for v in values):
            raise BuildError("%s: a value holds a NUL or newline character" % key)   # never the value: no_log


def plan_and_apply(module, deadline=None):
    """Decide what to do, and (outside check mode) do it; returns the result dict."""
    params = module.params
    name, prefix, lock_text = params["name"], params["prefix"], params["lock"]
    check_params(params)
    if not lock_text.endswith("\n"):
        lock_text += "\n"
    try:
        packages = parse_lock(lock_text)
    except ValueError as exc:
        raise BuildError("lock: %s" % exc) from exc
    key = env_key(lock_text, params["python"])
    link = os.path.join(prefix, name)
    final = os.path.join(prefix, "%s-%s" % (name, key))
    staging = os.path.join(prefix, ".staging-%s-%s" % (name, key))
    previous = current_target(link)
    result = {"path": link, "version_dir": final, "key": key, "packages": packages,
              "lock_sha256": hashlib.sha256(lock_text.encode()).hexdigest(), "previous": previous or "",
              "actions": [], "changed": False}
    actions = result["actions"]

    stale = stale_staging(prefix, name)
    actions += ["remove stale staging directory %s" % d for d in stale]
    need_build = not is_complete(final, key)
    if need_build:
        actions.append("build %s in %s" % (final, staging))
    need_switch = previous != final
    if need_switch:
        actions.append("switch %s -> %s (was %s)" % (link, os.path.basename(final), previous or "absent"))
    prune = to_prune(prefix, name, final, previous, params["keep"])
    actions += ["remove old version %s" % d for d in prune]
    result["changed"] = bool(actions)
    if module.check_mode or not actions:
        return result

    for directory in stale:
        shutil.rmtree(directory)
    if need_build:
        if previous == final:
            raise BuildError("%s is active but incomplete (no %s); remove the symlink %s to rebuild"
                             % (final, MARKER, link))
        try:
            build(module, staging, final, lock_text, key, packages, deadline)
        except Exception as exc:
            # Any failure (a step, ENOSPC while writing, a move): no staging directory and no unfinished
            # version directory are left; the symlink still points to the previous environment. The free
            # space is read first: a step that hid ENOSPC (venv's ensurepip) is still told apart.
            if isinstance(exc, BuildError):
                exc.free_bytes = free_bytes(prefix)
            shutil.rmtree(staging, ignore_errors=True)
            if previous != final and not is_complete(final, key):
                shutil.rmtree(final, ignore_errors=True)
            raise
    if need_switch:
        switch_symlink(link, os.path.basename(final))
    for directory in prune:
        shutil.rmtree(directory)
    return result


PIP_VARIABLES = ("index_url, extra_index_urls, find_links (in the roles: python_env_pip_index_url, "
                 "python_env_pip_extra_index_urls, python_env_pip_find_links)")


def _reached(output, params):
    """The server pip talked to, from its output (a URL, or urllib3's host='...', port=N), else the index."""
    found = re.search(r"https?://[^\s'\"<>)]+", output or "")
    if found:
        return found.group(0)
    found = re.search(r"host='([^']+)', port=(\d+)", output or "")
    if found:
        return "http://%s:%s/" % found.groups()
    return params["index_url"] or "https://pypi.org/simple"


def explain(msg, output, params, free=None):
    """The failure message with its likely cause for a person (fetch_error); unchanged when none is known.
    `free`: bytes free on the prefix's file system when the build failed (None: not known)."""
    text = "%s\n%s" % (msg, output or "")
    cause = classify(text)[0]
    if msg.startswith("Timeout exceeded"):
        return msg
    if cause == "disk full" or (free is not None and free < LOW_SPACE):
        left = "" if free is None else " (%d MB free when it failed)" % (free // (1024 * 1024))
        return ("%s — disk full: no space left on the file system of %s%s (python_env_prefix). The staging "
                "directory was removed and the previous environment is still active; free space there, or "
                "set python_env_prefix to a larger file system, and run again."
                % (msg, params["prefix"], left))
    if not cause:
        return msg
    return "%s. %s" % (msg, describe(text, redact(_reached(output, params)), PIP_VARIABLES,
                                    "the environment's packages"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            prefix=dict(type="path", default="/opt/dlrig/envs"),
            python=dict(type="path", required=True),
            lock=dict(type="str", required=True),
            imports=dict(type="list", elements="str", default=[]),
            # May carry credentials (https://user:token@host/simple): never logged, never in `invocation`.
            index_url=dict(type="str", default="", no_log=True),
            extra_index_urls=dict(type="list", elements="str", default=[], no_log=True),
            find_links=dict(type="list", elements="str", default=[], no_log=True),
            trusted_hosts=dict(type="list", elements="str", default=[]),
            cert=dict(type="str", default=""),
            isolated=dict(type="bool", default=True),
            pip_timeout=dict(type="int", default=60),
            installer=dict(type="str", default="pip", choices=["uv", "pip"]),
            uv=dict(type="path", default=""),
            uv_version=dict(type="str", default="0.13.9"),
            uv_hashes=dict(type="list", elements="str", default=[]),
            tools_dir=dict(type="path", default="/opt/dlrig/tools"),
            cache_dir=dict(type="path", default=""),
            link_mode=dict(type="str", default="hardlink", choices=["hardlink", "copy"]),
            keep=dict(type="int", default=1),
            timeout=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    prefix = module.params["prefix"]
    timeout = module.params["timeout"]
    deadline = time.time() + timeout if timeout > 0 else None
    handle = None
    try:
        check_params(module.params)   # before the lock file below: its path is formed from name and prefix
        if not module.check_mode:
            os.makedirs(prefix, mode=0o755, exist_ok=True)
            handle = open(os.path.join(prefix, ".%s.lock" % module.params["name"]), "a")  # noqa: SIM115 (held: the lock)
            fcntl.flock(handle, fcntl.LOCK_EX)
        result = plan_and_apply(module, deadline)
    except BuildError as exc:
        module.fail_json(msg=explain(str(exc), exc.output, module.params, exc.free_bytes), output=exc.output)
    except OSError as exc:
        module.fail_json(msg=explain("%s: %s" % (type(exc).__name__, exc), "", module.params))
    finally:
        if handle is not None:
            handle.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
