#!/usr/bin/env python3
"""Test double (molecule/env-interrupt, molecule/faults): a PEP 503 package index on 127.0.0.1 whose downloads
stop halfway. Every project page lists one wheel of the requested version; the wheel's download announces
SIZE bytes and sends the first half of them, then, in mode `stall` (the default), nothing more: the
installer hangs mid-download until its read timeout, or until the build is stopped or killed; in mode
`drop`, the server closes the connection there (a cut line, a proxy that gives up). Two more modes serve
tests/fixtures/uv/capture.py: `truncate` announces only the half it sends (a file cut short on the mirror),
`html` answers every file with a web page (a captive portal or a proxy's login page in the mirror's place).
A request under /<mode>/ (http://127.0.0.1:PORT/drop/simple as the index) is served in that mode, whatever
the server's: one index serves every fault.
The half that is sent begins as a real wheel does: a zip archive's first entry (stored, its header valid), so
an installer that unpacks while it downloads (uv) reads on instead of rejecting the first bytes, and only the
stall or the cut ends the download, as with a real index.
Once half of a wheel is sent, it writes STARTED_FILE: the scenarios act only after that signal, so "an install
interrupted halfway" is deterministic, whatever the machine's speed.

    stall_index.py PORT LOCKFILE STARTED_FILE [stall|drop|truncate|html]
"""

from __future__ import annotations

import re
import struct
import sys
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

SIZE = 8 * 1024 * 1024  # announced wheel size; half of it is sent
MODES = ("stall", "drop", "truncate", "html")


def pins(lock: str) -> dict[str, str]:
    with open(lock, encoding="utf-8") as handle:
        text = handle.read()
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower(): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, re.M)}


def first_half(name: str) -> bytes:
    """The first SIZE/2 bytes of a wheel: a zip local file header (stored, no data descriptor) for a file as
    big as the rest of the archive, then the start of that file's data."""
    member = f"{name}/padding.bin".encode()
    data_size = SIZE - 30 - len(member)
    data = b"\0" * data_size
    header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(data),
                         data_size, data_size, len(member), 0) + member
    return (header + data)[: SIZE // 2]


class Handler(BaseHTTPRequestHandler):
    versions: ClassVar[dict[str, str]] = {}
    started_file: ClassVar[str] = ""
    mode: ClassVar[str] = "stall"

    def log_message(self, *args: object) -> None:  # quiet
        return

    def do_GET(self) -> None:
        parts = [p for p in self.path.split("/") if p]
        # /<mode>/simple/...: this request in another mode than the server's (one index, every fault).
        mode, prefix = self.mode, ""
        if parts and parts[0] in MODES:
            mode, prefix = parts[0], "/" + parts[0]
            parts = parts[1:]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.versions:
            name = parts[1].replace("-", "_")
            wheel = f"{name}-{self.versions[parts[1]]}-py3-none-any.whl"
            body = f'<html><body><a href="{prefix}/files/{wheel}">{wheel}</a></body></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif len(parts) == 2 and parts[0] == "files" and mode == "html":
            body = b"<html><body><h1>Sign in to continue</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif len(parts) == 2 and parts[0] == "files":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(SIZE // 2 if mode == "truncate" else SIZE))
            self.end_headers()
            try:
                self.wfile.write(first_half(parts[1].split("-")[0]))
                self.wfile.flush()
            except OSError:  # the installer gave up first (several downloads run at once)
                return
            with open(self.started_file, "a", encoding="utf-8") as handle:  # the signal: mid-download
                handle.write(parts[1] + "\n")
            if mode != "stall":
                self.close_connection = True
                return
            time.sleep(3600)  # halfway: never send the rest
        else:
            self.send_error(404)


def main() -> None:
    port, lock, Handler.started_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    Handler.mode = sys.argv[4] if len(sys.argv) > 4 else "stall"
    if Handler.mode not in MODES:
        sys.exit(f"mode {Handler.mode!r}: expected stall, drop, truncate or html")
    Handler.versions = pins(lock)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
