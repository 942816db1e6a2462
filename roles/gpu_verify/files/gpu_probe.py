#!/usr/bin/env python3
# managed by dlrig (role gpu_verify): runs inside a framework environment, prints one JSON document.
"""Probe one deep-learning framework: versions, the GPUs it sees, fp32/fp16 matmul TFLOPS on each GPU
and host-to-device copy bandwidth. Without a GPU it runs a small fp32 matmul on the CPU instead.

Usage: gpu_probe.py --framework torch|tensorflow [--size N] [--cpu-size N] [--copy-mib N]
                    [--previous REPORT.json --env NAME --tolerance PCT] [--host-facts DIGEST --reuse yes|no]

Always exits 0 and prints JSON; failures are reported in "error" fields so that the role can write
its report first and judge afterwards. With --previous, a figure within --tolerance percent of the
one already in the report is printed as that earlier figure ("reported"), so that re-running the
verification on an unchanged machine does not rewrite its report; "measured" always holds this run's.
"stable" is the part of the output the report keeps (no per-run figures), with a "fingerprint" of what the
result depends on; with --reuse, a passing earlier result of the same fingerprint is printed again
("reused": true) without importing the framework at all.
Python 3.6+ and no dependency beyond the framework itself.
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import traceback

MEASURES = ("fp32_tflops", "fp16_tflops", "h2d_gbps")


def _timed(step, sync, min_seconds=0.5, min_reps=3, max_reps=200):
    """Average seconds per call of ``step`` after a warm-up, synchronising the device around the clock."""
    step()
    sync()
    reps = 0
    start = time.perf_counter()
    while True:
        step()
        reps += 1
        if reps >= max_reps or (reps >= min_reps and time.perf_counter() - start >= min_seconds):
            break
    sync()
    return (time.perf_counter() - start) / reps


def _tflops(n, seconds):
    return round(2.0 * n ** 3 / seconds / 1e12, 2)


# --- PyTorch --------------------------------------------------------------------------------------

def probe_torch(args):
    import torch

    out = {
        "framework": "torch",
        "version": torch.__version__,
        "cuda": getattr(torch.version, "cuda", None),
        "cudnn": None,
        "extras": {},
    }
    try:
        import fastai

        out["extras"]["fastai"] = fastai.__version__
    except Exception:  # noqa: BLE001 - fastai is optional in a torch environment
        pass
    with contextlib.suppress(AttributeError):
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, not TF32
    available = torch.cuda.is_available()
    out["device_count"] = torch.cuda.device_count() if available else 0
    if available and torch.backends.cudnn.is_available():
        out["cudnn"] = str(torch.backends.cudnn.version())
    gpus = []
    for index in range(out["device_count"]):
        props = torch.cuda.get_device_properties(index)
        gpu = {"index": index, "name": props.name, "memory_mib": int(props.total_memory // 1048576),
               "compute_capability": "%d.%d" % (props.major, props.minor), "error": None}
        if hasattr(props, "pci_bus_id"):
            gpu["pci_address"] = "%04x:%02x:%02x.0" % (getattr(props, "pci_domain_id", 0), props.pci_bus_id,
                                                       getattr(props, "pci_device_id", 0))
        try:
            device = torch.device("cuda", index)

            def sync(device=device):
                torch.cuda.synchronize(device)

            for dtype, key in ((torch.float32, "fp32_tflops"), (torch.float16, "fp16_tflops")):
                a = torch.randn(args.size, args.size, device=device, dtype=dtype)
                b = torch.randn(args.size, args.size, device=device, dtype=dtype)
                gpu[key] = _tflops(args.size, _timed(lambda a=a, b=b: torch.matmul(a, b), sync))
                del a, b
            host = torch.empty(args.copy_mib * 1048576, dtype=torch.uint8).pin_memory()
            dest = torch.empty_like(host, device=device)
            seconds = _timed(lambda dest=dest, host=host: dest.copy_(host, non_blocking=True), sync)
            gpu["h2d_gbps"] = round(host.numel() / seconds / 1e9, 2)
            gpu["h2d_pinned"] = True
            del host, dest
            torch.cuda.empty_cache()
        except Exception as exc:  # noqa: BLE001 - report, do not crash: the role judges
            gpu["error"] = "%s: %s" % (type(exc).__name__, exc)
        gpus.append(gpu)
    out["gpus"] = gpus
    if not gpus:
        a = torch.randn(args.cpu_size, args.cpu_size)
        b = torch.randn(args.cpu_size, args.cpu_size)
        seconds = _timed(lambda: torch.matmul(a, b), lambda: None)
        out["cpu"] = {"fp32_ok": bool(torch.isfinite(torch.matmul(a, b)).all()),
                      "fp32_gflops": round(2.0 * args.cpu_size ** 3 / seconds / 1e9, 1)}
    return out


# --- TensorFlow -----------------------------------------------------------------------------------

def probe_tensorflow(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    build = {}
    with contextlib.suppress(Exception):  # old TF has no build info
        build = dict(tf.sysconfig.get_build_info())
    out = {
        "framework": "tensorflow",
        "version": tf.__version__,
        "cuda": build.get("cuda_version"),
        "cudnn": build.get("cudnn_version"),
        "extras": {},
    }
    try:
        import keras

        out["extras"]["keras"] = keras.__version__
    except Exception:  # noqa: BLE001
        pass
    with contextlib.suppress(AttributeError):
        tf.config.experimental.enable_tensor_float_32_execution(False)
    devices = tf.config.list_physical_devices("GPU")
    out["device_count"] = len(devices)
    gpus = []
    for index, device in enumerate(devices):
        gpu = {"index": index, "name": device.name, "error": None}
        try:
            details = tf.config.experimental.get_device_details(device)
            gpu["name"] = details.get("device_name", device.name)
            if details.get("compute_capability"):
                gpu["compute_capability"] = "%d.%d" % tuple(details["compute_capability"])
        except Exception:  # noqa: BLE001
            pass
        try:
            with tf.device("/GPU:%d" % index):
                for dtype, key in ((tf.float32, "fp32_tflops"), (tf.float16, "fp16_tflops")):
                    a = tf.random.normal((args.size, args.size), dtype=dtype)
                    b = tf.random.normal((args.size, args.size), dtype=dtype)
                    box = {}

                    def step(a=a, b=b, box=box):
                        box["c"] = tf.linalg.matmul(a, b)

                    def sync(box=box):
                        if "c" in box:
                            box["c"][0, 0].numpy()

                    gpu[key] = _tflops(args.size, _timed(step, sync))
                host = np.ones(args.copy_mib * 1048576, dtype=np.uint8)
                moved = {}

                def copy(host=host, moved=moved):
                    moved["t"] = tf.identity(tf.constant(host))

                def copy_sync(moved=moved):
                    if "t" in moved:
                        moved["t"][0].numpy()

                seconds = _timed(copy, copy_sync)
                gpu["h2d_gbps"] = round(host.size / seconds / 1e9, 2)
                gpu["h2d_pinned"] = False
        except Exception as exc:  # noqa: BLE001
            gpu["error"] = "%s: %s" % (type(exc).__name__, exc)
        gpus.append(gpu)
    out["gpus"] = gpus
    if not gpus:
        with tf.device("/CPU:0"):
            a = tf.random.normal((args.cpu_size, args.cpu_size))
            b = tf.random.normal((args.cpu_size, args.cpu_size))
            seconds = _timed(lambda: tf.linalg.matmul(a, b).numpy(), lambda: None)
            ok = bool(np.isfinite(tf.linalg.matmul(a, b).numpy()).all())
        out["cpu"] = {"fp32_ok": ok, "fp32_gflops": round(2.0 * args.cpu_size ** 3 / seconds / 1e9, 1)}
    return out


# --- stable figures -------------------------------------------------------------------------------

def stabilise(result, previous_path, env, tolerance_pct):
    """Add "reported" figures: the earlier report's value when this run's is within the tolerance."""
    earlier = {}
    try:
        with open(previous_path) as handle:
            report = json.load(handle)
        for gpu in report.get("frameworks", {}).get(env, {}).get("gpus", []):
            earlier[(gpu.get("index"), gpu.get("name"))] = gpu
    except (OSError, ValueError, AttributeError, TypeError):
        earlier = {}
    for gpu in result.get("gpus", []):
        before = earlier.get((gpu.get("index"), gpu.get("name")), {})
        gpu["measured"] = dict((k, gpu.get(k)) for k in MEASURES)
        for key in MEASURES:
            now, then = gpu.get(key), before.get(key)
            if now and then and abs(now - then) <= then * tolerance_pct / 100.0:
                gpu[key] = then
    return result


def stable_view(result):
    """What the report keeps: no per-run figures (raw measurements, CPU GFLOPS, tracebacks)."""
    view = dict((k, v) for k, v in result.items() if k not in ("traceback", "cpu", "gpus", "stable"))
    view["gpus"] = [dict((k, v) for k, v in gpu.items() if k != "measured") for gpu in result.get("gpus", [])]
    if "cpu" in result:
        view["cpu"] = {"fp32_ok": result["cpu"].get("fp32_ok")}
    return view


def fingerprint(host_facts, framework, args):
    """What this probe's result depends on: the host's driver and GPUs (given by the role), this environment
    (its real directory: <name>-<key> of python_env, and that key), the framework and the probe's sizes."""
    import hashlib

    prefix = os.path.realpath(sys.prefix)
    key = None
    try:
        with open(os.path.join(prefix, ".dlrig-env.json")) as handle:
            key = json.load(handle).get("key")
    except (OSError, ValueError, AttributeError):
        pass
    text = json.dumps([host_facts, prefix, key, framework, args.size, args.cpu_size, args.copy_mib],
                      sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def earlier_result(previous_path, env, wanted):
    """The report's stable view of this environment when it was made with the same fingerprint and passed."""
    try:
        with open(previous_path) as handle:
            view = json.load(handle).get("frameworks", {}).get(env, {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(view, dict) or view.get("fingerprint") != wanted or view.get("error"):
        return None
    if any(gpu.get("error") for gpu in view.get("gpus", [])):
        return None
    view = dict((k, v) for k, v in view.items() if k not in ("python_path", "installed"))
    return view


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("torch", "tensorflow"), required=True)
    parser.add_argument("--size", type=int, default=4096, help="matrix side for the GPU matmuls")
    parser.add_argument("--cpu-size", type=int, default=512, help="matrix side for the CPU matmul")
    parser.add_argument("--copy-mib", type=int, default=256, help="MiB copied host to device")
    parser.add_argument("--previous", help="the earlier JSON report, for stable figures")
    parser.add_argument("--env", default="", help="this environment's name in the report")
    parser.add_argument("--tolerance", type=float, default=15.0, help="percent")
    parser.add_argument("--host-facts", default="", help="the role's digest of the driver and detected GPUs")
    parser.add_argument("--reuse", choices=("yes", "no"), default="no",
                        help="print the report's earlier result, without importing the framework, when the "
                             "driver, the GPUs and this environment are unchanged (same fingerprint)")
    args = parser.parse_args(argv)
    wanted = fingerprint(args.host_facts, args.framework, args)
    if args.reuse == "yes" and args.previous:
        view = earlier_result(args.previous, args.env, wanted)
        if view is not None:
            result = dict(view, reused=True, stable=view)
            print("DLRIG_PROBE_JSON " + json.dumps(result, sort_keys=True))
            return 0
    result = {"framework": args.framework, "python": platform.python_version(), "executable": sys.executable}
    try:
        probe = probe_torch if args.framework == "torch" else probe_tensorflow
        result.update(probe(args))
        result["error"] = None
    except Exception as exc:  # noqa: BLE001 - an import error is a finding, not a crash
        result["error"] = "%s: %s" % (type(exc).__name__, exc)
        result["traceback"] = traceback.format_exc(limit=3)
        result.setdefault("gpus", [])
        result.setdefault("device_count", 0)
    if args.previous:
        stabilise(result, args.previous, args.env, args.tolerance)
    result["fingerprint"] = wanted
    result["stable"] = stable_view(result)
    # A marker, so that the role finds the JSON among anything else the framework prints.
    print("DLRIG_PROBE_JSON " + json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
