#!/usr/bin/env python3
"""Print the hash of a JupyterLab password for the inventory's jupyterlab_password_hash.

    scripts/jupyter_password.py                 asks twice on the terminal (nothing echoed)
    scripts/jupyter_password.py --stdin         reads it from the first line of standard input

The hash is what jupyter_server.auth.passwd() makes (argon2id, the same parameters), so the server
checks it as its own. Encrypt it before it goes into the inventory:
    scripts/jupyter_password.py | .venv/bin/ansible-vault encrypt_string --stdin-name jupyterlab_password_hash
Needs argon2-cffi (requirements-controller.txt). Exit 2 on bad input (empty or unmatched password).
"""

from __future__ import annotations

import argparse
import getpass
import sys


def hash_password(password: str) -> str:
    """``argon2:$argon2id$...`` as jupyter_server.auth.passwd(password) writes it."""
    import argon2

    hasher = argon2.PasswordHasher(memory_cost=10240, time_cost=10, parallelism=8)
    return "argon2:" + hasher.hash(password)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="jupyter_password", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("JupyterLab password: ")
        if getpass.getpass("Again: ") != password:
            print("jupyter_password: the two passwords differ", file=sys.stderr)
            return 2
    if not password:
        print("jupyter_password: empty password", file=sys.stderr)
        return 2
    try:
        print(hash_password(password))
    except ImportError:
        print("jupyter_password: argon2-cffi is not installed "
              "(requirements-controller.txt; bin/dlrig installs it)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
