#!/usr/bin/env python3
"""Test double (molecule/faults): SIGKILL the processes whose command line contains one of the given
strings, as a power cut would end them (fault 4: apt-get, dpkg and the package's maintainer script).
Never itself. Prints the killed pids and their command lines as JSON. Python 3.6 compatible.

    kill_by_cmdline.py STRING [STRING ...]
"""

import json
import os
import signal
import sys


def main():
    wanted = [s.encode() for s in sys.argv[1:]]
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (os.getpid(), os.getppid()):
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").strip()
        except OSError:
            continue
        if any(w in cmdline for w in wanted):
            try:
                os.kill(int(entry), signal.SIGKILL)
                killed.append({"pid": int(entry), "cmdline": cmdline.decode(errors="replace")})
            except OSError:
                pass
    print(json.dumps({"killed": killed}))


if __name__ == "__main__":
    main()
