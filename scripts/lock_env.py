#!/usr/bin/env python3
"""Write the lock file of a framework environment (see roles/python_env/README.md, "Locks").

    scripts/lock_env.py pytorch --python 3.11 --torch 2.14.1 --torchvision 0.29.1 --fastai 2.8.12 \\
        --variant cu130 [--torch-index URL | --torch-index ''] [mirror options] [--os Ubuntu 18.04]
    scripts/lock_env.py tensorflow --python 3.11 --tensorflow 2.21.0 --keras 3.15.1 --variant cpu
    scripts/lock_env.py jupyterlab --python 3.11 --jupyterlab 4.6.4

Targets Linux x86_64 with the glibc of --os (dlrig/data/matrix.yml) or --glibc (default 2.28).
Writes roles/<role>/files/locks/<name>.txt, or --lock-dir DIR/<role>/manylinux_<floor>/<name>.txt (the
roles' on-demand locks), or --output PATH; --if-missing keeps an existing one. Prints `generated PATH ...`
or `reused PATH ...`, or with --json one object: path, created, packages, name, platform.
Needs uv (requirements-controller.txt; --uv PATH, default: next to this Python, else on PATH).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlrig.errors import InputError  # noqa: E402
from dlrig.locks import (  # noqa: E402
    LockError,
    LockSpec,
    Mirrors,
    compile_lock,
    find_uv,
    glibc_for_os,
    jupyterlab_lock,
    pytorch_lock,
    tensorflow_lock,
    uv_compile_command,
    uv_platform,
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lock_env", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="env", required=True)
    pt = sub.add_parser("pytorch")
    pt.add_argument("--torch", required=True)
    pt.add_argument("--torchvision", required=True)
    pt.add_argument("--fastai", required=True)
    pt.add_argument("--variant", required=True, help="cpu, cu126, cu128, cu130 ...")
    pt.add_argument("--torch-index", default=None,
                    help="default https://download.pytorch.org/whl/<variant>; '' for PyPI's build")
    tf = sub.add_parser("tensorflow")
    tf.add_argument("--tensorflow", required=True)
    tf.add_argument("--keras", required=True)
    tf.add_argument("--variant", required=True, choices=["cpu", "cuda"])
    jl = sub.add_parser("jupyterlab")
    jl.add_argument("--jupyterlab", required=True)
    for p in (pt, tf, jl):
        p.add_argument("--python", required=True, help="minor version, e.g. 3.11")
        p.add_argument("--uv", default=None, help="uv executable (default: next to this Python, else PATH)")
        p.add_argument("--index-url", default="", help="default: uv's own (PyPI, or UV_INDEX_URL)")
        p.add_argument("--extra-index-url", action="append", default=[])
        p.add_argument("--find-links", action="append", default=[])
        p.add_argument("--trusted-host", action="append", default=[], help="plain-HTTP mirror host")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--glibc", help="oldest glibc of the targets (default 2.28; Ubuntu 18.04: 2.27)")
        where.add_argument("--os", nargs=2, metavar=("DISTRIBUTION", "RELEASE"),
                           help="target OS: its glibc comes from dlrig/data/matrix.yml (e.g. Ubuntu 18.04)")
        out = p.add_mutually_exclusive_group()
        out.add_argument("--output", type=Path, help="default: roles/<role>/files/locks/<name>.txt")
        out.add_argument("--lock-dir", type=Path, help="write <dir>/<role>/manylinux_<floor>/<name>.txt")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object")
        p.add_argument("--if-missing", action="store_true", help="keep an existing output (print `reused`)")
        p.add_argument("--dry-run", action="store_true", help="print the uv command, write nothing")
    return parser.parse_args(argv)


def spec_of(args: argparse.Namespace) -> LockSpec:
    if args.env == "pytorch":
        return pytorch_lock(args.python, args.torch, args.torchvision, args.fastai, args.variant,
                            args.torch_index)
    if args.env == "jupyterlab":
        return jupyterlab_lock(args.python, args.jupyterlab)
    return tensorflow_lock(args.python, args.tensorflow, args.keras, args.variant)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        spec = spec_of(args)
        glibc = args.glibc or (glibc_for_os(*args.os) if args.os else "2.28")
        mirrors = Mirrors(args.index_url, tuple(args.extra_index_url),
                          tuple(args.find_links), tuple(args.trusted_host))
        output = args.output or spec.path(ROOT)
        if args.lock_dir:
            output = spec.generated_path(args.lock_dir, glibc)
        if args.dry_run:
            uv = args.uv or "uv"
            print(" ".join(uv_compile_command(spec, uv, Path(f"{spec.name}.in"), output, mirrors, glibc)))
            return 0
        result = compile_lock(spec, output, mirrors, glibc, args.uv or find_uv(),
                              time.strftime("%Y-%m-%d", time.gmtime()), reuse=args.if_missing)
    except InputError as exc:
        print(f"lock_env: {exc}", file=sys.stderr)
        return 2
    except LockError as exc:
        print(f"lock_env: {spec.role} stack {spec.name}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"path": str(result.path), "created": result.created, "packages": result.packages,
                          "name": spec.name, "platform": uv_platform(glibc)}))
        return 0
    verb = "generated" if result.created else "reused"
    print(f"{verb} {result.path} ({result.packages} packages, {spec.name}, Linux x86_64 glibc >= {glibc})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
