#!/usr/bin/env python3
"""Test double (molecule/env-interrupt only): a PEP 503 package index on 127.0.0.1 whose downloads stall
halfway. Every project page lists one wheel of the requested version; the wheel's download sends half of its
announced bytes and then nothing more, so pip hangs mid-download until the build is stopped or killed.
Once half of a wheel is sent, it writes STARTED_FILE: the scenario kills the build only after that signal,
so "an install interrupted halfway" is deterministic, whatever the machine's speed.

    stall_index.py PORT LOCKFILE STARTED_FILE
"""

from __future__ import annotations

import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

SIZE = 8 * 1024 * 1024  # announced wheel size; half of it is sent


def pins(lock: str) -> dict[str, str]:
    with open(lock, encoding="utf-8") as handle:
        text = handle.read()
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower(): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, re.M)}


class Handler(BaseHTTPRequestHandler):
    versions: ClassVar[dict[str, str]] = {}
    started_file: ClassVar[str] = ""

    def log_message(self, *args: object) -> None:  # quiet
        return

    def do_GET(self) -> None:
        parts = [p for p in self.path.split("/") if p]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.versions:
            name = parts[1].replace("-", "_")
            wheel = f"{name}-{self.versions[parts[1]]}-py3-none-any.whl"
            body = f'<html><body><a href="/files/{wheel}">{wheel}</a></body></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif len(parts) == 2 and parts[0] == "files":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(SIZE))
            self.end_headers()
            self.wfile.write(b"\0" * (SIZE // 2))
            self.wfile.flush()
            with open(self.started_file, "a", encoding="utf-8") as handle:  # the signal: pip is mid-download
                handle.write(parts[1] + "\n")
            time.sleep(3600)  # halfway: never send the rest
        else:
            self.send_error(404)


def main() -> None:
    port, lock, Handler.started_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    Handler.versions = pins(lock)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
