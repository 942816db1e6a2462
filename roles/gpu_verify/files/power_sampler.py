#!/usr/bin/env python3
# managed by dlrig (role gpu_verify): samples power while the framework probes load the GPUs.
"""Sample every GPU's power draw, enforced power limit, temperature and active throttle reasons with
nvidia-smi, and the CPU package power from RAPL (/sys/class/powercap) when it is readable, until a stop
file appears (or --max-seconds pass); then print one line ``DLRIG_POWER_JSON {...}`` with, per GPU, the
peak and mean draw, the enforced limit, the peak temperature and every throttle reason seen.

Usage: power_sampler.py --stop-file FILE [--nvidia-smi PATH] [--interval S] [--max-seconds N]
                        [--powercap-root DIR] [--previous REPORT.json --tolerance PCT]

With --previous, when every GPU's peak and mean are within --tolerance percent of the report's and
the same throttle reasons were seen, the report's figures are printed again, so that re-running the
verification on an unchanged machine does not rewrite the report.
Python 3.6+, standard library only; always exits 0 (failures go in "error").
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

QUERY = "index,name,power.draw,power.limit,temperature.gpu,{reasons}"
REASON_FIELDS = ("clocks_throttle_reasons.active", "clocks_event_reasons.active")  # the newer name second
# nvmlClocksThrottleReasons bits, https://docs.nvidia.com/deploy/nvml-api/group__nvmlClocksThrottleReasons.html
REASON_BITS = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)
QUERY_TIMEOUT = 10


def decode_reasons(text):
    """The names of the bits set in nvidia-smi's hex mask ("0x0000000000000004" -> ["sw_power_cap"])."""
    try:
        mask = int(text.strip(), 16)
    except (ValueError, AttributeError):
        return []
    return [name for bit, name in REASON_BITS if mask & bit]


def _number(text):
    try:
        return float(text.strip())
    except (ValueError, AttributeError):
        return None  # "[N/A]", "[Not Supported]"


def parse_query(text):
    """The rows of ``--query-gpu=... --format=csv,noheader,nounits`` output."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 6 or not cells[0].isdigit():
            continue
        rows.append({"index": int(cells[0]), "name": cells[1], "power_w": _number(cells[2]),
                     "limit_w": _number(cells[3]), "temp_c": _number(cells[4]),
                     "reasons": decode_reasons(cells[5])})
    return rows


def query_gpus(nvidia_smi, state):
    """One sample of every GPU; remembers which field name of the throttle reasons this driver takes."""
    fields = [state["reasons_field"]] if state.get("reasons_field") else list(REASON_FIELDS)
    error = None
    for field in fields:
        cmd = [nvidia_smi, "--query-gpu=" + QUERY.format(reasons=field), "--format=csv,noheader,nounits"]
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, timeout=QUERY_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            return [], "nvidia-smi: %s" % exc
        rows = parse_query(out.stdout) if out.returncode == 0 else []
        if rows:
            state["reasons_field"] = field
            return rows, None
        error = "nvidia-smi --query-gpu: %s" % ((out.stderr or out.stdout).strip()[:200] or "no rows")
    return [], error


def rapl_domains(root):
    """The package domains RAPL exposes whose energy counter is readable: [(name, path, max_range)]."""
    found = []
    for zone in sorted(glob.glob(os.path.join(root, "*rapl:*"))):
        if zone.count(":") != 1:  # package zones only (intel-rapl:0), not sub-zones (intel-rapl:0:0)
            continue
        try:
            with open(os.path.join(zone, "name")) as handle:
                name = handle.read().strip()
            with open(os.path.join(zone, "energy_uj")) as handle:
                int(handle.read())
        except (OSError, ValueError):
            continue
        if not name.startswith("package"):
            continue
        try:
            with open(os.path.join(zone, "max_energy_range_uj")) as handle:
                top = int(handle.read())
        except (OSError, ValueError):
            top = 0
        found.append((name, os.path.join(zone, "energy_uj"), top))
    return found


def read_energy(domains):
    values = []
    for _name, path, _top in domains:
        try:
            with open(path) as handle:
                values.append(int(handle.read()))
        except (OSError, ValueError):
            values.append(None)
    return values


def rapl_watts(domains, before, after, seconds):
    """Package watts summed over the domains between two readings (the counter wraps at max range)."""
    if seconds <= 0:
        return None
    total = 0.0
    for (_name, _path, top), a, b in zip(domains, before, after):
        if a is None or b is None:
            return None
        delta = b - a
        if delta < 0:
            delta += top
        total += delta / 1e6 / seconds
    return total


def summarise(samples, cpu_watts, seconds, interval, error=None, rapl_note=None):
    """Per GPU: peak and mean draw, the enforced limit (highest seen), peak temperature, throttle reasons
    (gpu_idle left out: the GPUs idle before the probes start)."""
    gpus = {}
    for row in samples:
        g = gpus.setdefault(row["index"], {"index": row["index"], "name": row["name"], "draws": [],
                                           "loaded": [], "limit_w": None, "peak_temp_c": None, "reasons": []})
        if row["power_w"] is not None:
            g["draws"].append(row["power_w"])
            if "gpu_idle" not in row["reasons"]:
                g["loaded"].append(row["power_w"])
        if row["limit_w"] is not None:
            g["limit_w"] = max(g["limit_w"] or 0, row["limit_w"])
        if row["temp_c"] is not None:
            g["peak_temp_c"] = max(g["peak_temp_c"] or 0, row["temp_c"])
        for reason in row["reasons"]:
            if reason != "gpu_idle" and reason not in g["reasons"]:
                g["reasons"].append(reason)
    out_gpus = []
    for index in sorted(gpus):
        g = gpus[index]
        draws, loaded = g.pop("draws"), g.pop("loaded")
        g["samples"] = len(draws)
        g["peak_w"] = round(max(draws), 1) if draws else None
        # the mean under load: samples where the GPU was idle (before the probes start) do not count
        loaded = loaded or draws
        g["mean_w"] = round(sum(loaded) / len(loaded), 1) if loaded else None
        g["throttle_reasons"] = sorted(g.pop("reasons"))
        out_gpus.append(g)
    cpu = None
    if cpu_watts:
        cpu = {"peak_w": round(max(cpu_watts), 1), "mean_w": round(sum(cpu_watts) / len(cpu_watts), 1),
               "samples": len(cpu_watts)}
    # no sample, no duration: a report that only says why stays the same from run to run
    return {"sampler": "nvidia-smi", "interval_s": interval, "seconds": round(seconds, 1) if samples else 0,
            "samples": max([g["samples"] for g in out_gpus] or [0]),
            "gpus": out_gpus, "cpu_package": cpu, "cpu_package_note": rapl_note, "error": error}


def _close(new, old, tolerance):
    if new is None or old is None:
        return new == old
    return abs(new - old) <= abs(old) * tolerance / 100


def keep_previous(summary, previous_path, tolerance):
    """The report's power figures when this run's are within ``tolerance`` % of them (stable reports)."""
    try:
        with open(previous_path) as handle:
            old = json.load(handle).get("power")
    except (OSError, ValueError, AttributeError):
        return summary
    if not isinstance(old, dict) or summary.get("error") or old.get("error"):
        return summary
    new_gpus, old_gpus = summary.get("gpus") or [], old.get("gpus") or []
    if len(new_gpus) != len(old_gpus):
        return summary
    for new, prev in zip(new_gpus, old_gpus):
        for key in ("throttle_reasons", "limit_w", "name"):
            if new.get(key) != prev.get(key):
                return summary
        if not (_close(new.get("peak_w"), prev.get("peak_w"), tolerance)
                and _close(new.get("mean_w"), prev.get("mean_w"), tolerance)):
            return summary
    if bool(summary.get("cpu_package")) != bool(old.get("cpu_package")):
        return summary
    return old


def run(args):
    state = {}
    domains = rapl_domains(args.powercap_root)
    rapl_note = None if domains else "RAPL not readable under %s" % args.powercap_root
    samples, cpu_watts, error = [], [], None
    start = time.time()
    energy, energy_t = read_energy(domains), time.time()
    while True:
        rows, error = query_gpus(args.nvidia_smi, state)
        samples.extend(rows)
        if domains:
            now_energy, now = read_energy(domains), time.time()
            watts = rapl_watts(domains, energy, now_energy, now - energy_t)
            if watts is not None and now - energy_t > 0.05:
                cpu_watts.append(watts)
            energy, energy_t = now_energy, now
        if error and not samples:
            break  # nvidia-smi cannot answer this query: nothing to sample
        if os.path.exists(args.stop_file) or time.time() - start >= args.max_seconds:
            break
        time.sleep(args.interval)
    summary = summarise(samples, cpu_watts, time.time() - start, args.interval,
                        error=error if not samples else None, rapl_note=rapl_note)
    if args.previous:
        summary = keep_previous(summary, args.previous, args.tolerance)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--nvidia-smi", default="nvidia-smi")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--powercap-root", default="/sys/class/powercap")
    parser.add_argument("--previous")
    parser.add_argument("--tolerance", type=float, default=15.0)
    args = parser.parse_args(argv)
    try:
        summary = run(args)
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        summary = {"error": "power sampler failed: %s: %s" % (type(exc).__name__, exc), "gpus": []}
    print("DLRIG_POWER_JSON " + json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
