# -*- coding: utf-8 -*-
# Copyright: dlrig contributors
# MIT License (see galaxy.yml)
"""One message for a failed download: what was reached, the variable that sets it, the likely cause.

Used on the controller by the filter dlrig.rig.fetch_failure (get_url, apt_repository, the lock
generation) and on the host by the python_env module (pip's output). Pure Python 3.6+, no Ansible import.
The raw error text (``<urlopen error [Errno -2] Name or service not known>``, pip's tracebacks) is read,
not repeated: a person gets the cause and what to do about it.
"""

from __future__ import absolute_import, division, print_function

import re

try:  # Python 3
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore[import-not-found,no-redef]

__metaclass__ = type

# (cause, patterns, advice). The first cause whose pattern occurs in the error text wins, so the more
# specific ones come first (a full disk also shows up as an I/O error; a 404 may mention the host).
CAUSES = (
    ("disk full", (r"No space left on device", r"\[Errno 28\]", r"ENOSPC"),
     "the file system the download or the environment is written to is full; free space there "
     "(dlrig preflight --live reports how much each location needs) and run again"),
    ("name does not resolve (DNS)",
     (r"Name or service not known", r"Temporary failure in name resolution", r"Temporary failure resolving",
      r"Could not resolve", r"nodename nor servname", r"\[Errno -[23]\]", r"getaddrinfo failed",
      r"NameResolutionError", r"No address associated with hostname"),
     "this machine cannot resolve {host}: check the spelling of the URL and the DNS settings, or, on a "
     "network without access to it, point {variable} at a mirror this machine can reach"),
    ("connection refused",
     (r"Connection refused", r"\[Errno 111\]", r"111: Connection refused", r"ECONNREFUSED"),
     "{host} resolves but nothing accepts connections on that port: the server or mirror is down, or "
     "the port in {variable} is wrong"),
    ("network unreachable",
     (r"Network is unreachable", r"No route to host", r"\[Errno 101\]", r"\[Errno 113\]"),
     "there is no route from this machine to {host}: check the network link and proxy settings, or point "
     "{variable} at a mirror on this network"),
    ("TLS failure",
     (r"CERTIFICATE_VERIFY_FAILED", r"certificate verify failed", r"SSLError", r"SSL:", r"\bTLS\b",
      r"Certificate verification failed", r"wrong version number"),
     "the TLS connection to {host} failed (certificate not trusted): a TLS-inspecting proxy needs its CA "
     "in the system trust store (/usr/local/share/ca-certificates, then update-ca-certificates)"),
    ("not found (404)",
     (r"\b404\b", r"Not Found", r"does not have a Release file", r"No matching distribution found"),
     "{host} answered but has nothing at that path: most often a wrong release path (distribution, version "
     "or architecture) in {variable}, or a mirror that lacks this file"),
    ("access denied",
     (r"\b401\b", r"\b403\b", r"Unauthorized", r"Forbidden"),
     "{host} refused the request (401/403): the mirror needs credentials, or does not serve this file"),
    ("stalled or dropped",
     (r"[Tt]imed out", r"timeout", r"Connection reset", r"Connection broken", r"IncompleteRead",
      r"RemoteDisconnected", r"Connection aborted", r"ProtocolError", r"Hash Sum mismatch"),
     "the connection to {host} stalled or was cut mid-download: the network or the server is unreliable; "
     "run again (nothing half-written was kept), or use a closer mirror via {variable}"),
    ("checksum mismatch",
     (r"checksum mismatch", r"[Cc]hecksum .*does not match", r"DO NOT MATCH THE HASHES", r"sha256 checksum"),
     "the file from {host} is not the pinned one (checksum differs): the mirror serves another build; "
     "fix the mirror, or pin this file's checksum"),
)


def redact(url):
    """The URL without credentials (https://user:token@host.example/ -> https://***@host.example/)."""
    return re.sub(r"://[^/@\s]+@", "://***@", url or "")


def host_of(url):
    """host[:port] of a URL, or the URL itself when it has none (a path, a file:// URL)."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return redact(url)
    if not host:
        return redact(url) or "the server"
    return "%s:%d" % (host, port) if port else host


def classify(text):
    """The cause of a failed download in the error text: (cause, advice template), or ("", "")."""
    text = text or ""
    for cause, patterns, advice in CAUSES:
        if any(re.search(pattern, text) for pattern in patterns):
            return cause, advice
    return "", ""


def _detail(text):
    """A short, readable rest of an error that no cause matched (no ``<urlopen error ...>`` wrapper)."""
    text = re.sub(r"<urlopen error (.*)>", r"\1", text or "")
    text = re.sub(r"^Request failed:\s*", "", text.strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # pip and apt put the telling line last; a traceback's last line is the exception.
    line = lines[-1] if lines else "no error text"
    return redact(line)[:300]


def describe(text, url, variable, what):
    """One paragraph for a person: what could not be downloaded from where, why, and what to do."""
    cause, advice = classify(text)
    url = redact(url)
    head = "Could not download %s from %s (set by %s)" % (what, url or "(no URL)", variable)
    if not cause:
        return "%s: %s. Check that %s is reachable from this machine, or set %s." % (
            head, _detail(text), url or "the URL", variable)
    return "%s — %s: %s." % (head, cause, advice.format(host=host_of(url), variable=variable))


def result_text(result):
    """Every error text a registered task result (or a plain string) carries, joined."""
    if not isinstance(result, dict):
        return str(result or "")
    parts = []
    for key in ("msg", "stderr", "stdout", "output", "module_stderr", "response", "exception"):
        value = result.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    status = result.get("status_code", result.get("status"))
    if isinstance(status, int) and status >= 400:
        parts.append("HTTP %d" % status + (" Not Found" if status == 404 else ""))
    return "\n".join(parts)
