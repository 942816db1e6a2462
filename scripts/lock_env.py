#!/usr/bin/env python3
"""Write the lock file of a framework environment (see roles/python_env/README.md, "Locks").

    scripts/lock_env.py pytorch --python 3.11 --torch 2.14.1 --torchvision 0.29.1 --fastai 2.8.12 \\
        --variant cu130 [--torch-index URL | --torch-index ''] [mirror options]
    scripts/lock_env.py tensorflow --python 3.11 --tensorflow 2.21.0 --keras 3.15.1 --variant cpu

Needs uv (https://pypi.org/project/uv/; --uv PATH, default: `uv` on PATH).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlrig.errors import InputError  # noqa: E402
from dlrig.locks import LockSpec, Mirrors, lock_header, pytorch_lock, tensorflow_lock, uv_compile_command  # noqa: E402


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lock_env", description=__doc__.split("\n")[0])
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
    for p in (pt, tf):
        p.add_argument("--python", required=True, help="minor version, e.g. 3.11")
        p.add_argument("--uv", default="uv")
        p.add_argument("--index-url", default="https://pypi.org/simple")
        p.add_argument("--extra-index-url", action="append", default=[])
        p.add_argument("--find-links", action="append", default=[])
        p.add_argument("--glibc", default="2.28", help="oldest glibc of the targets (2.27 for Ubuntu 18.04)")
        p.add_argument("--output", type=Path, help="default: roles/<role>/files/locks/<name>.txt")
        p.add_argument("--dry-run", action="store_true", help="print the uv command, write nothing")
    return parser.parse_args(argv)


def spec_of(args: argparse.Namespace) -> LockSpec:
    if args.env == "pytorch":
        return pytorch_lock(args.python, args.torch, args.torchvision, args.fastai, args.variant,
                            args.torch_index)
    return tensorflow_lock(args.python, args.tensorflow, args.keras, args.variant)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        spec = spec_of(args)
    except InputError as exc:
        print(f"lock_env: {exc}", file=sys.stderr)
        return 2
    mirrors = Mirrors(args.index_url, tuple(args.extra_index_url), tuple(args.find_links))
    output = args.output or spec.path(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        req_in, raw = Path(tmp) / f"{spec.name}.in", Path(tmp) / "lock.txt"
        req_in.write_text("\n".join(spec.requirements) + "\n")
        cmd = uv_compile_command(spec, args.uv, req_in, raw, mirrors, args.glibc)
        if args.dry_run:
            print(" ".join(cmd))
            return 0
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"lock_env: uv failed (exit {proc.returncode}):\n{proc.stderr}", file=sys.stderr)
            return 1
        header = lock_header(spec, cmd, time.strftime("%Y-%m-%d", time.gmtime()))
        output.parent.mkdir(parents=True, exist_ok=True)
        # uv annotates top-level pins with the input's path: keep its name only (no temp dir).
        output.write_text(header + raw.read_text().replace(str(req_in), req_in.name))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
