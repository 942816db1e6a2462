"""Live preflight from the controller: detect the hardware in each host over Ansible, then compare it with
the inventory's declaration (``scripts/preflight.py --live``).

Detection runs the project's own module ``dlrig.rig.hardware_facts`` through the ``ansible`` command (a
subprocess with the ``ansible.posix.json`` stdout callback) rather than Ansible's internal Python API:
the command line is Ansible's stable interface, it reads the inventory, connection variables, ``become``
and ``ansible.cfg`` exactly as a playbook run does, and a crash in it cannot take the caller down.
An unreachable host, a failing module or a host missing from the output becomes a per-host error; the
other hosts are still reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlrig.errors import InputError
from dlrig.upgrade.envplan import decision_environments

MODULE = "dlrig.rig.hardware_facts"
FACT = "dlrig_hardware"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = PROJECT_ROOT / "collections"


@dataclass(frozen=True)
class Detection:
    """What detection found on one host: its facts, or why there are none."""

    host: str
    facts: dict[str, Any] | None = None
    error: str | None = None
    unreachable: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.facts is not None and self.error is None


class DetectionError(Exception):
    """Detection could not run at all (no ``ansible`` command, unreadable output): not a host's fault."""


def _first_json(text: str) -> Any:
    """The JSON document in the callback's output (tolerates lines printed before it)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("\n{")
    if start >= 0:
        try:
            return json.loads(text[start + 1:])
        except ValueError:
            pass
    raise DetectionError("could not read the output of the ansible command as JSON: "
                         + (text.strip()[:300] or "(empty)"))


def _clean(message: Any) -> str:
    return " ".join(str(message).split()) if message else "no message"


def parse_json_output(text: str, fact: str = FACT) -> dict[str, Detection]:
    """Per host, the facts (or the error) in the ``ansible.posix.json`` output of one ad-hoc run."""
    data = _first_json(text)
    found: dict[str, Detection] = {}
    for play in data.get("plays") or []:
        for task in play.get("tasks") or []:
            for host, result in (task.get("hosts") or {}).items():
                warnings = tuple(str(w) for w in result.get("warnings") or [])
                if result.get("unreachable"):
                    found[host] = Detection(host, error=f"unreachable: {_clean(result.get('msg'))}",
                                            unreachable=True, warnings=warnings)
                elif result.get("failed"):
                    detail = result.get("msg") or result.get("module_stderr") or result.get("exception")
                    found[host] = Detection(host, error=f"hardware detection failed: {_clean(detail)}",
                                            warnings=warnings)
                elif result.get("skipped"):
                    found[host] = Detection(host, error="hardware detection skipped: "
                                            + _clean(result.get("msg")))
                else:
                    facts = (result.get("ansible_facts") or {}).get(fact)
                    if not isinstance(facts, dict):
                        found[host] = Detection(host, error=f"the module returned no '{fact}' facts")
                    else:
                        found[host] = Detection(host, facts=facts, warnings=warnings)
    for host in (data.get("stats") or {}):
        found.setdefault(host, Detection(host, error="no result for this host in Ansible's output"))
    return found


def ansible_command() -> str:
    beside = Path(sys.executable).with_name("ansible")
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible")
    if not found:
        raise DetectionError("the 'ansible' command is not installed (run bin/dlrig, which sets up .venv)")
    return found


def build_command(inventories: Sequence[str], pattern: str, module_args: Mapping[str, Any] | None = None,
                  *, become: bool = False, ansible: str | None = None) -> list[str]:
    """The ``ansible`` command line that runs detection on the hosts matching ``pattern``."""
    cmd = [ansible or ansible_command(), pattern or "all", "-m", MODULE]
    for inv in inventories:
        cmd += ["-i", inv if "," in inv and not os.path.exists(inv) else os.path.abspath(inv)]
    if module_args:
        cmd += ["-a", json.dumps(dict(module_args), sort_keys=True)]
    if become:
        cmd.append("--become")
    return cmd


def detection_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the subprocess: JSON on stdout, no other stdout callbacks, our collection found."""
    env = dict(os.environ if base is None else base)
    env.setdefault("ANSIBLE_CONFIG", str(PROJECT_ROOT / "ansible.cfg"))
    paths = [str(COLLECTIONS)] + [p for p in env.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(dict.fromkeys(paths)),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "",     # profile_tasks & co. print to stdout and would break the JSON
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    return env


Runner = Callable[[list[str], dict[str, str], float], "subprocess.CompletedProcess[str]"]


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def detect(inventories: Sequence[str], pattern: str = "all", hosts: Sequence[str] | None = None, *,
           module_args: Mapping[str, Any] | None = None, become: bool = False, timeout: float = 300,
           runner: Runner | None = None) -> dict[str, Detection]:
    """Run hardware detection on the hosts of ``pattern``; one :class:`Detection` per host.

    ``hosts`` (when given) are the names the caller expects: one missing from Ansible's answer gets an
    error of its own instead of silently disappearing. ``runner`` replaces the subprocess call in tests.
    """
    cmd = build_command(inventories, pattern, module_args, become=become)
    try:
        done = (runner or _run)(cmd, detection_env(), timeout)
    except subprocess.TimeoutExpired as exc:
        raise DetectionError(f"hardware detection took longer than {timeout:g} s; "
                             "is a host hanging?") from exc
    except OSError as exc:
        raise DetectionError(f"could not run {cmd[0]}: {exc}") from exc
    if not done.stdout.strip():
        stderr = " ".join(done.stderr.split())[-500:]
        if "Could not match supplied host pattern" in done.stderr or "No hosts matched" in done.stderr:
            raise InputError(None, "--limit", f"no host of the inventory matches {pattern!r}")
        raise DetectionError(f"the ansible command printed nothing (exit {done.returncode}): {stderr}")
    found = parse_json_output(done.stdout)
    for host in hosts or []:
        found.setdefault(host, Detection(host, error="the ansible command did not run detection "
                                               "on this host"))
    return found


def running_os(facts: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The release in the facts' ``os`` (hardware_facts reads /etc/os-release), None when not there."""
    found = (facts or {}).get("os")
    if isinstance(found, dict) and found.get("distribution") and found.get("release"):
        return str(found["distribution"]), str(found["release"])
    return None


def live_context(plan: Any, facts: Mapping[str, Any] | None, *, error: str | None = None,
                 unreachable: bool = False, os_release: tuple[str, str] | None = None) -> Any:
    """The registry's context of one live host (:class:`dlrig.checks.registry.Context`)."""
    from dlrig.checks.registry import Context
    from dlrig.upgrade.driver import allow_downgrade

    allow_downgrade(plan)  # a consent that is not a boolean is bad input, even when detection failed
    if facts is None and error is None:
        error = "no hardware facts"
    return Context(plan, "live", facts=facts, detection_error=error, unreachable=unreachable,
                   running_os=os_release or running_os(facts))


def live_checks(plan: Any, facts: Mapping[str, Any] | None, **detection: Any) -> list[Any]:
    """Every live check's result for one host (``detection``: as :func:`live_host`)."""
    from dlrig.checks.registry import run

    return run(live_context(plan, facts, **detection))


def live_host(plan: Any, facts: Mapping[str, Any] | None, *, error: str | None = None,
              unreachable: bool = False, os_release: tuple[str, str] | None = None) -> dict[str, Any]:
    """One host's live preflight: every live check of the registry, as a document host entry (with
    ``reachable``, ``detected`` and ``driver``). The CLI's ``--live`` and the ``dlrig.rig.live_preflight``
    action both call it. ``os_release`` (the play's gathered facts) wins over the facts' own ``os``."""
    from dlrig.checks.registry import run
    from dlrig.output.document import host_entry
    from dlrig.upgrade.driver import change_lines

    ctx = live_context(plan, facts, error=error, unreachable=unreachable, os_release=os_release)
    results = run(ctx)
    decision = ctx.driver_decision
    driver = None if decision is None else {**decision.as_dict(), "lines": change_lines(decision),
                                             "environments": decision_environments(decision.as_dict())}
    return host_entry(plan, results, reachable=not unreachable,
                      detected=None if ctx.detected is None else detected_summary(ctx.detected),
                      driver=driver)


def detected_summary(hw: Any) -> dict[str, Any]:
    """What detection found, for the document (``detected``)."""
    return {
        "gpus": [{"pci_address": g.pci_address, "model": g.model, "present": g.present, "slot": g.slot,
                  "current_link_width": g.current_link_width, "max_link_width": g.max_link_width,
                  "current_link_gen": g.current_link_gen, "max_link_gen": g.max_link_gen,
                  "power_limit_w": g.power_limit_w, "power_min_limit_w": g.power_min_limit_w,
                  "power_max_limit_w": g.power_max_limit_w, "problems": list(g.problems)} for g in hw.gpus],
        "driver_version": hw.driver_version,
        "cpu_model": hw.cpu_model,
        "ram_gb": hw.ram_gb,
        "kernel": hw.kernel,
        "secure_boot": hw.secure_boot,
    }


# Module arguments of the ad-hoc detection run: templated per host by Ansible, so the inventory's
# live_preflight_* variables point detection at a fixture tree or another nvidia-smi, as in the playbook.
DETECT_ARGS = {
    "sysfs_root": "{{ live_preflight_sysfs_root | default(omit) }}",
    "nvidia_smi": "{{ live_preflight_nvidia_smi | default(omit) }}",
    "lspci": "{{ live_preflight_lspci | default(omit) }}",
    "df": "{{ live_preflight_df | default(omit) }}",           # mounts: the disk_space check (issue 16)
    "verify_report": "{{ live_preflight_verify_report | default(omit) }}",  # measured_power (issue 12)
}

def live_document(hosts: Sequence[tuple[str, dict[str, Any]]], inventories: Sequence[str],
                  limit: str | None, *, become: bool = False, detector: Any = None) -> dict[str, Any]:
    """Detect every host over Ansible, then run its live checks; ``detector`` replaces detection in tests."""
    from dlrig.errors import InputError
    from dlrig.output.document import document
    from dlrig.plan.parse import parse_host

    plans = [parse_host(name, hostvars) for name, hostvars in hosts]  # bad input first, before any SSH
    run = detector or detect
    try:
        found = run(inventories, limit or "all", [p.name for p in plans], module_args=DETECT_ARGS,
                    become=become)
    except DetectionError as exc:
        raise InputError(None, "--live", str(exc)) from None
    entries = []
    for plan in plans:
        detection = found[plan.name]
        entries.append(live_host(plan, detection.facts, error=detection.error,
                                 unreachable=detection.unreachable))
    return document("live", entries)
