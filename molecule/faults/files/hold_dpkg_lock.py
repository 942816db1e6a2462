#!/usr/bin/env python3
"""Test double (molecule/faults, fault 6): hold dpkg's locks as another apt or dpkg run would, for SECONDS.

    hold_dpkg_lock.py SECONDS PIDFILE

Takes the same fcntl locks dpkg and apt take (lock-frontend, then lock), writes its pid once it holds
them, and sleeps. Python 3.6 compatible (it runs on the target).
"""

import fcntl
import os
import sys
import time


def main():
    seconds, pidfile = int(sys.argv[1]), sys.argv[2]
    handles = []
    for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"):
        handle = open(path, "w")  # noqa: SIM115 (held until exit)
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handles.append(handle)
    with open(pidfile, "w") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(seconds)


if __name__ == "__main__":
    main()
