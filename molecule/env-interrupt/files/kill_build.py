#!/usr/bin/env python3
"""Test double of a sudden death (molecule/env-interrupt only): SIGKILL every process of the running
python_env module (the module and its async wrapper), as a killed controller, the OOM killer or a power
cut would end them. It does NOT touch the build's own steps (pip): those must die with the module
(PR_SET_PDEATHSIG in the module), which tests/test_interrupt.py checks. Prints the killed pids as JSON.
Python 3.6 compatible (it runs on the target).
"""

import json
import os
import signal

PATTERN = b"AnsiballZ_python_env"


def main():
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if PATTERN in cmdline:
            try:
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
            except OSError:
                pass
    print(json.dumps({"killed": sorted(killed)}))


if __name__ == "__main__":
    main()
