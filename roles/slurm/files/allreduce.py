#!/usr/bin/env python3
"""All-reduce across the nodes of a Slurm job: the cluster check and a minimal multi-node example.

Run one process per node (or per GPU) with srun; the rendezvous comes from Slurm's environment:
    srun -N2 --ntasks-per-node=1 python3 allreduce.py [--mib 16] [--iters 10]
Backend NCCL when the process has a GPU, gloo otherwise. Every rank fills a tensor with rank+1; after the
sum all-reduce every element must be n(n+1)/2. Rank 0 prints one JSON line: the check and the bandwidth
(algbw = bytes/time; busbw = algbw * 2(n-1)/n, the figure nccl-tests reports).
Written for Python 3.6 and later (the roles' files run on every release dlrig supports).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Tuple


def slurm_env() -> Tuple[int, int, int, str, int]:
    rank = int(os.environ["SLURM_PROCID"])
    world = int(os.environ["SLURM_NTASKS"])
    local_rank = int(os.environ.get("SLURM_LOCALID", "0"))
    first = subprocess.run(
        ["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
        check=True,
        stdout=subprocess.PIPE,
        universal_newlines=True,
    ).stdout.split()[0]
    port = 29500 + int(os.environ.get("SLURM_JOB_ID", "0")) % 1000
    return (
        rank,
        world,
        local_rank,
        os.environ.get("MASTER_ADDR", first),
        int(os.environ.get("MASTER_PORT", port)),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=16.0, help="tensor size in MiB (float32)")
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()

    import torch
    import torch.distributed as dist

    rank, world, local_rank, addr, port = slurm_env()
    cuda = torch.cuda.is_available()
    backend = "nccl" if cuda else "gloo"
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"tcp://{addr}:{port}", rank=rank, world_size=world)
    n = int(args.mib * 1024 * 1024 / 4)
    tensor = torch.full((n,), float(rank + 1), dtype=torch.float32, device=device)
    want = world * (world + 1) / 2

    work = tensor.clone()
    dist.all_reduce(work)  # warm-up, and the check
    ok = bool(torch.all(work == want).item())
    dist.barrier()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        work.copy_(tensor)
        dist.all_reduce(work)
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t0) / args.iters
    ok = ok and bool(torch.all(work == want).item())
    oks = torch.tensor([1.0 if ok else 0.0], device=device)
    dist.all_reduce(oks)
    size = n * 4
    algbw = size / seconds / 1e9
    if rank == 0:
        print(
            json.dumps(
                {
                    "check": "allreduce",
                    "backend": backend,
                    "world_size": world,
                    "torch": torch.__version__,
                    "bytes": size,
                    "iters": args.iters,
                    "seconds_per_op": round(seconds, 6),
                    "algbw_gbps": round(algbw, 3),
                    "busbw_gbps": round(algbw * 2 * (world - 1) / world, 3),
                    "expected": want,
                    "sum_ok": oks.item() == world,
                }
            ),
            flush=True,
        )
    dist.destroy_process_group()
    return 0 if oks.item() == world else 1


if __name__ == "__main__":
    sys.exit(main())
