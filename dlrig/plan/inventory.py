"""Load hosts and their variables with Ansible's own inventory API, exactly as a playbook sees them.

``-i`` takes what ``ansible-playbook -i`` takes (files, directories, several of them); ``--limit``
uses Ansible's pattern semantics (``inventory.subset``). group_vars, host_vars, INI and YAML
inventories all work because Ansible itself reads them. The variables dlrig reads (``hardware``,
``power``, ``os``, ``stack``) are templated with the host's variables, as a play would.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dlrig.errors import InputError, remember_vaulted

PLAN_KEYS = ("hardware", "power", "os", "stack")
# How long a dynamic inventory (an executable -i script) may run (--inventory-timeout).
DEFAULT_INVENTORY_TIMEOUT = 60.0
# The largest file read as an inventory source or an -e @file, and the most values (mapping entries, list
# items, scalars: YAML aliases counted each time they are used) of one plan variable before and after
# templating: a YAML alias bomb is refused, not expanded.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_PLAN_VALUES = 100_000
MAX_PLAN_CHARS = 10 * 1024 * 1024


def one_line(exc: BaseException, limit: int = 400) -> str:
    """An Ansible error message on one line: what went wrong and where, without the file excerpt."""
    kept: list[str] = []
    for line in str(exc).splitlines():
        line = line.strip()
        if not line:
            if kept and any("appears to be in" in k for k in kept):
                break
            continue
        if line.startswith(("The offending line", "^ here")):
            break
        kept.append(line)
    text = re.sub(r"\s+", " ", " ".join(kept)).strip() or exc.__class__.__name__
    # Python's words for an integer of thousands of digits advise a call no user can make.
    text = re.sub(r"Exceeds the limit \(\d+ digits\) for integer string conversion"
                  r"(?:: value has (\d+) digits)?"
                  r"(?:; use sys\.set_int_max_str_digits\(\) to increase the limit)?",
                  lambda m: f"an integer of {m.group(1) or 'thousands of'} digits: no figure of a build is "
                  "that large", text)
    text = re.sub(r"We were unable to read either as JSON nor YAML.*?JSON: .*?(?=Syntax Error)", "", text)
    text = text.replace(", but may be elsewhere in the file depending on the exact syntax problem", "")
    # Nested template errors repeat "An unhandled exception occurred while templating ..." once per level;
    # the innermost original message is the one that says what is wrong.
    if "original message: " in text:
        text = text.rsplit("original message: ", 1)[1]
    # "<problem>. String: <template>. <problem>": the problem is said twice; keep the first.
    text = re.sub(r"^(.*?: (.+?)\. String: .*?)\. \2\.?$", r"\1", text)
    sentences: list[str] = []
    for sentence in text.split(". "):
        if sentence.rstrip(".") not in (s.rstrip(".") for s in sentences):
            sentences.append(sentence)
    text = ". ".join(sentences)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def _strict_parsing(failures: list[str]) -> Iterator[None]:
    """Make an unparsable inventory source an error, and collect the plugins' reasons instead of warning."""
    import ansible.constants as C

    saved_flag = C.INVENTORY_ANY_UNPARSED_IS_FAILED
    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True
    try:
        with _warnings_held(failures):
            yield
    finally:
        C.INVENTORY_ANY_UNPARSED_IS_FAILED = saved_flag


def _parse_failure(source: str, failures: list[str]) -> str:
    """The most telling plugin failure for a source: the YAML plugin's for .yml files, else the INI one's."""
    prefer = "yaml" if source.endswith((".yml", ".yaml")) else "ini"
    reasons: dict[str, str] = {}
    for msg in failures:
        match = re.search(r"Failed to parse (.+?) with (\S+) plugin: (.*)", msg, re.S)
        if match:
            reasons.setdefault(match.group(2).split(".")[-1], f"{match.group(1)}: {match.group(3)}")
    reason = reasons.get(prefer) or next(iter(reasons.values()), "no inventory plugin could read it")
    if prefer == "ini" and "values to unpack" in reason:  # Python's own words from the INI parser
        reason += " (not a valid INI inventory: check the [group] headers and the host lines)"
    return one_line(Exception(reason))


def _check_sources(sources: Sequence[str]) -> None:
    for source in sources:
        if "," in source and not os.path.exists(source):
            continue  # a host list, "web1,web2,"
        if not os.path.exists(source):
            raise InputError(None, "-i", f"inventory {source!r} does not exist")
        if not os.access(source, os.R_OK):
            raise InputError(None, "-i", f"inventory {source!r} is not readable")
        if os.path.isdir(source):
            for path in _special_files(source):
                raise InputError(None, "-i", f"inventory {source!r}: {path!r} is not a regular file "
                                 "(a FIFO, a device, a socket): refused, reading it could block")
        else:
            check_regular_file(source, "-i", "inventory")
            if not os.access(source, os.X_OK):  # an executable is a dynamic inventory: any program
                with open(source, "rb") as handle:
                    if b"\0" in handle.read(8192):
                        raise InputError(None, "-i", f"inventory {source!r} is a binary file, not an INI or "
                                         "YAML inventory (nor an executable inventory script)")


def check_regular_file(path: str, option: str, what: str) -> None:
    """Refuse what is not a regular file of at most MAX_FILE_BYTES (a FIFO blocks, /dev/zero never ends)."""
    import stat

    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(None, option, f"{what} {path!r} is not a regular file (a FIFO, a device, a socket): "
                         "refused, reading it could block or never end")
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(None, option, f"{what} {path!r} is larger than {MAX_FILE_BYTES >> 20} MiB")


def _special_files(directory: str, limit: int = 10_000) -> Iterator[str]:
    """The entries under ``directory`` (an inventory directory: group_vars, host_vars, ...) that are
    neither regular files nor directories (links followed), at most ``limit`` entries looked at."""
    import stat

    seen = 0
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            seen += 1
            if seen > limit or name.startswith("."):
                continue
            path = os.path.join(root, name)
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue  # a dangling link: Ansible says what it says about it
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                yield path


class _InventoryTimeout(BaseException):
    """Raised by the timer of _time_limit (a BaseException: Ansible's `except Exception` lets it through)."""


@contextmanager
def _time_limit(seconds: float, sources: Sequence[str]) -> Iterator[None]:
    """Stop reading the inventory after ``seconds``: a dynamic inventory script that never exits is killed
    (with what it started) and named. Only in the main thread (SIGALRM); elsewhere no limit."""
    import signal
    import subprocess
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return
    started: list[subprocess.Popen[Any]] = []
    original = subprocess.Popen

    class Tracked(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("start_new_session", True)  # its children are killed with it
            super().__init__(*args, **kwargs)
            started.append(self)

    def expire(signum: int, frame: Any) -> None:
        raise _InventoryTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    subprocess.Popen = Tracked  # type: ignore[misc]
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _InventoryTimeout:
        running = [p for p in started if p.poll() is None]
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            proc.wait()
        if running:
            args = running[-1].args
            script = str(args[0] if isinstance(args, (list, tuple)) else args)
            raise InputError(None, "-i", f"inventory script {script!r} did not finish within {seconds:g} s; "
                             "it was stopped (--inventory-timeout sets the limit)") from None
        raise InputError(None, "-i", f"reading inventory {', '.join(sources)} took longer than {seconds:g} s "
                         "(--inventory-timeout sets the limit)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        subprocess.Popen = original  # type: ignore[misc]


@contextmanager
def _warnings_held(held: list[str]) -> Iterator[None]:
    """Hold Ansible's warnings while the inventory is read: when the read ends in an error, that error is
    the one line the user gets; when it succeeds, the caller prints what was held, a line each."""
    from ansible.utils.display import Display

    display = Display()  # the process-wide instance
    saved_warning = display.warning

    def hold(msg: str, formatted: bool = False) -> None:
        held.append(msg)

    display.warning = hold  # type: ignore[method-assign]
    try:
        yield
    finally:
        display.warning = saved_warning  # type: ignore[method-assign]


def load_hosts(sources: str | Sequence[str], limit: str | None = None, *,
               vault_password_files: Sequence[str] = (), vault_ids: Sequence[str] = (),
               extra_vars: Sequence[str] = (),
               timeout: float = DEFAULT_INVENTORY_TIMEOUT) -> list[tuple[str, dict[str, Any]]]:
    """``[(host name, variables)]`` for every host of the inventory (after ``limit``), in inventory order.
    Vaulted files and values are decrypted with the given password files / vault ids plus the ones
    Ansible's configuration names (``vault_password_file``, ``vault_identity_list``), as a playbook run
    would; ``extra_vars`` are ansible-playbook's ``-e`` values (``@file``, YAML/JSON, ``key=value``) and
    win over the inventory, as in a playbook run. Ansible's warnings (a duplicate key in host_vars, ...)
    are printed on stderr as one line each, and only when no error follows. A dynamic inventory script
    that runs longer than ``timeout`` seconds is stopped (InputError naming it)."""
    held: list[str] = []
    with _warnings_held(held):
        hosts = _load_hosts(sources, limit, list(vault_password_files), list(vault_ids), list(extra_vars),
                            timeout)
    for msg in held:
        sys.stderr.write(f"preflight: warning: {one_line(Exception(msg))}\n")
    return hosts


def _vault_secrets(loader: Any, password_files: list[str], ids: list[str]) -> None:
    import ansible.constants as C
    from ansible.cli import CLI
    from ansible.errors import AnsibleError

    ids = list(C.DEFAULT_VAULT_IDENTITY_LIST or []) + ids
    if C.DEFAULT_VAULT_PASSWORD_FILE:
        password_files = [*password_files, str(C.DEFAULT_VAULT_PASSWORD_FILE)]
    if not ids and not password_files:
        return
    try:
        secrets = CLI.setup_vault_secrets(loader, vault_ids=ids, vault_password_files=password_files,
                                          ask_vault_pass=False, auto_prompt=False)
    except AnsibleError as exc:
        message = one_line(exc)
        # Name the option whose value the message is about (a --vault-id's source is a password file too).
        blamed = [f"--vault-id {i}" for i in ids if i.split("@", 1)[-1] and i.split("@", 1)[-1] in message]
        option = blamed[0].split(" ", 1)[0] if blamed else ("--vault-id" if ids and not password_files
                                                             else "--vault-password-file")
        raise InputError(None, option, message) from None
    loader.set_vault_secrets(secrets)


def _extra_vars(loader: Any, values: list[str]) -> dict[str, Any]:
    """ansible-playbook's ``-e`` values, read with its rules (ansible.utils.vars.load_extra_vars, which caches
    the first call's result process-wide and so cannot serve a library)."""
    from ansible.errors import AnsibleError
    from ansible.parsing.splitter import parse_kv
    from ansible.utils.vars import combine_vars

    result: dict[str, Any] = {}
    for value in values:
        if not value:
            continue
        try:
            if value.startswith("@"):
                if os.path.exists(value[1:]):
                    check_regular_file(value[1:], "-e", "extra-vars file")
                data = loader.load_from_file(value[1:])
            elif value[0] in "/.":
                raise InputError(None, "-e", f"{value!r}: prepend a file name with '@', e.g. -e @{value}")
            elif value[0] in "[{":
                data = loader.load(value)
            else:
                data = parse_kv(value)
        except (AnsibleError, ValueError) as exc:  # ValueError: an integer of thousands of digits
            raise InputError(None, "-e", f"{_clip(value)!r}: {one_line(exc)}") from None
        if not isinstance(data, dict):
            raise InputError(None, "-e", f"{value!r}: expected a mapping of variables")
        result = combine_vars(result, data)
    return result


def _load_hosts(sources: str | Sequence[str], limit: str | None, vault_password_files: list[str],
                vault_ids: list[str], extra_vars: list[str],
                timeout: float = DEFAULT_INVENTORY_TIMEOUT) -> list[tuple[str, dict[str, Any]]]:
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    source_list = [sources] if isinstance(sources, str) else list(sources)
    _check_sources(source_list)
    loader = DataLoader()
    _vault_secrets(loader, vault_password_files, vault_ids)
    extra = _extra_vars(loader, extra_vars)
    failures: list[str] = []
    try:
        with _strict_parsing(failures), _time_limit(timeout, source_list):
            inventory = InventoryManager(loader=loader, sources=source_list)
    except AnsibleError as exc:
        source = next((s for s in source_list if s in str(exc)), source_list[0])
        reason = _parse_failure(source, failures) if failures else one_line(exc)
        raise InputError(None, "-i", f"cannot read inventory {source!r}: {reason}") from None
    if limit:
        try:
            with _strict_parsing([]):
                inventory.subset(limit)
        except AnsibleError as exc:
            raise InputError(None, "--limit", one_line(exc)) from None
    try:
        hosts = inventory.get_hosts("all")  # the --limit pattern is evaluated here
    except AnsibleError as exc:
        raise InputError(None, "--limit" if limit else "-i", one_line(exc)) from None
    if not hosts:
        where = f"no host of {', '.join(source_list)} matches --limit {limit!r}" if limit else (
            f"inventory {', '.join(source_list)} has no hosts")
        raise InputError(None, "--limit" if limit else "-i", where)
    for host in hosts:
        if any(ord(ch) < 32 for ch in host.name):
            raise InputError(repr(host.name), "inventory", "host name contains control characters")
    variables = VariableManager(loader=loader, inventory=inventory)
    return [(host.name, host_vars(loader, variables, host, extra)) for host in hosts]


def host_vars(loader: Any, variables: Any, host: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One host's variables as a play sees them (``extra``: the ``-e`` values, on top), with dlrig's own
    keys templated."""
    from ansible.errors import AnsibleError
    from ansible.utils.vars import combine_vars

    try:
        hostvars = variables.get_vars(host=host, include_hostvars=False, include_delegate_to=False)
    except (AnsibleError, ValueError) as exc:  # ValueError: a fact-cache path Ansible cannot open
        raise InputError(host.name, "host_vars/group_vars", one_line(exc)) from None
    if extra:
        hostvars = combine_vars(hostvars, extra)
    return template_plan_vars(host.name, hostvars, loader)


def template_plan_vars(name: str, hostvars: dict[str, Any], loader: Any = None,
                       templar: Any = None) -> dict[str, Any]:
    """``hostvars`` with ``hardware``, ``power``, ``os`` and ``stack`` templated (Jinja2 resolved) and
    vaulted values decrypted."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import AnsibleVaultError
    from ansible.template import Templar

    wanted = [key for key in PLAN_KEYS if key in hostvars]
    if not wanted:
        return dict(hostvars)
    templar = templar or Templar(loader=loader, variables=hostvars)
    _remember_vaulted(hostvars)
    result = dict(hostvars)
    for key in wanted:
        _check_size(name, key, hostvars[key])
        try:
            result[key] = _decrypted(templar.template(hostvars[key]))
        except AnsibleVaultError as exc:
            raise InputError(name, key, f"cannot decrypt a vaulted value ({one_line(exc)}); give "
                             "--vault-password-file or --vault-id, as to ansible-playbook") from None
        except AnsibleError as exc:
            raise InputError(name, key, one_line(exc)) from None
        except Exception as exc:  # Jinja2 errors that Ansible does not wrap
            raise InputError(name, key, f"cannot template: {one_line(exc)}") from None
        _check_size(name, key, result[key])
    return result


def _check_size(name: str, key: str, value: Any) -> None:
    """Refuse a plan variable of more than MAX_PLAN_VALUES values or MAX_PLAN_CHARS characters of text,
    counting a shared (aliased) value each time it is used, as templating would expand it; the count
    stops at the bound, so a YAML alias bomb costs MAX_PLAN_VALUES steps."""
    values = chars = 0
    stack = [value]
    while stack:
        item = stack.pop()
        values += 1
        if values > MAX_PLAN_VALUES:
            raise InputError(name, key, f"more than {MAX_PLAN_VALUES} values (YAML aliases that expand "
                             "into each other?): refused")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            chars += len(item)
            if chars > MAX_PLAN_CHARS:
                raise InputError(name, key, f"more than {MAX_PLAN_CHARS >> 20} MiB of text: refused")


def default_inventory() -> str:
    """The project's own inventory directory (``inventory/`` next to the ``dlrig`` package)."""
    return str(Path(__file__).resolve().parents[2] / "inventory")


def _remember_vaulted(hostvars: Any) -> None:
    """Note the plaintext of every inline-vaulted value of ``hostvars`` (those the plan keys use through
    Jinja too) so that no message prints one (dlrig.errors.scrub); values that cannot be decrypted are
    left to the templating below. Each container is visited once (YAML aliases share them)."""
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode

    seen: set[int] = set()
    stack = [hostvars]
    while stack:
        value = stack.pop()
        if isinstance(value, AnsibleVaultEncryptedUnicode):
            try:
                remember_vaulted(str(value.data))
            except Exception:  # no password for it: the templating below reports that
                continue
        elif isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            stack.extend(value.values() if isinstance(value, dict) else value)


def _decrypted(value: Any) -> Any:
    """``value`` with every inline-vaulted string decrypted (AnsibleVaultError when it cannot be)."""
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode

    if isinstance(value, AnsibleVaultEncryptedUnicode):
        text = str(value.data)
        remember_vaulted(text)
        return text
    if isinstance(value, dict):
        return {k: _decrypted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypted(v) for v in value]
    return value
