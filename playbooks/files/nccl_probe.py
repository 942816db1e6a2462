#!/usr/bin/env python3
# managed by dlrig (playbooks/upgrade-gpu-steps.yml: the multi-GPU NCCL all-reduce check)
"""Multi-GPU communication check: an NCCL all-reduce across every GPU torch sees, one process per GPU.

Usage: nccl_probe.py [--mib N] [--iters N] [--timeout S]

Prints one JSON line and exits 0 when the all-reduce ran and its result is right, 1 otherwise:
  {"ok": true, "world_size": 2, "bytes": 67108864, "algbw_gbps": 9.8, "busbw_gbps": 9.8,
   "nccl_version": "2.21.5", "error": null}
With fewer than two GPUs: {"ok": true, "skipped": "1 GPU visible: nothing to all-reduce across", ...}.
Bus bandwidth as nccl-tests defines it for all-reduce: algbw x 2(n-1)/n. Python 3.8+ (the framework
environment's), torch only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
import traceback
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world: int, port: int, numel: int, iters: int, queue: Any) -> None:
    import torch
    import torch.distributed as dist

    try:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.cuda.set_device(rank)
        dist.init_process_group("nccl", rank=rank, world_size=world)
        tensor = torch.full((numel,), float(rank + 1), device="cuda", dtype=torch.float32)
        for _ in range(3):  # warm-up: NCCL sets up its rings/trees on the first calls
            dist.all_reduce(tensor)
        tensor.fill_(float(rank + 1))
        dist.all_reduce(tensor)
        expected = world * (world + 1) / 2.0
        correct = bool(torch.allclose(tensor, torch.full_like(tensor, expected)))
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(tensor)
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / iters
        dist.destroy_process_group()
        queue.put({"rank": rank, "correct": correct, "seconds": seconds})
    except Exception as exc:  # reported, never raised: the parent prints the JSON
        queue.put({"rank": rank, "error": f"{exc.__class__.__name__}: {exc}",
                   "trace": traceback.format_exc()[-800:]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="MiB of fp32 per rank (default 64)")
    parser.add_argument("--iters", type=int, default=20, help="timed all-reduce iterations (default 20)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before the probe counts as hung")
    args = parser.parse_args(argv)
    out = {"ok": False, "world_size": 0, "bytes": args.mib * 2**20, "algbw_gbps": None, "busbw_gbps": None,
           "nccl_version": None, "error": None}
    try:
        import torch
        import torch.multiprocessing as mp
    except Exception as exc:
        out["error"] = f"torch does not import: {exc}"
        print(json.dumps(out))
        return 1
    world = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out["world_size"] = world
    with contextlib.suppress(Exception):
        out["nccl_version"] = ".".join(str(v) for v in torch.cuda.nccl.version())
    if world < 2:
        out.update(ok=True, skipped=f"{world} GPU visible: nothing to all-reduce across")
        print(json.dumps(out))
        return 0
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    numel = args.mib * 2**20 // 4
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, world, port, numel, args.iters, queue))
             for r in range(world)]
    for proc in procs:
        proc.start()
    results = []
    deadline = time.time() + args.timeout
    try:
        while len(results) < world and time.time() < deadline:
            try:
                results.append(queue.get(timeout=max(0.1, deadline - time.time())))
            except Exception:
                break
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    errors = [r["error"] for r in results if r.get("error")]
    if len(results) < world:
        errors.append(f"only {len(results)} of {world} ranks finished within {args.timeout:g} s "
                      "(hung all-reduce?)")
    if errors:
        out["error"] = "; ".join(errors)
    elif not all(r["correct"] for r in results):
        out["error"] = "the all-reduce returned a wrong sum"
    else:
        seconds = max(r["seconds"] for r in results)
        algbw = out["bytes"] / seconds / 1e9
        out.update(ok=True, algbw_gbps=round(algbw, 2), busbw_gbps=round(algbw * 2 * (world - 1) / world, 2))
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
