"""What-if planning: a planned upgrade applied to a host's declaration, without editing the inventory.

Spec syntax (one ``--what-if`` flag per part; several flags combine, each key at most once)::

    gpus=[N x] MODEL [@WATTS W] [limit=WATTS W] [vram=GB] [arch=ARCH] [+ [N x] MODEL ...]
        replaces every declared GPU. ``N x`` (also ``Nx``, ``N×``, ``N*``) is the count, 1 when absent.
        ``@225W`` is each card's board power (the inventory's ``watts``, e.g. a Founders Edition's
        225 W); ``limit=150W`` is a power limit (the inventory's ``power_limit_w``, which the PSU
        check counts instead of the board power and the driver role applies). ``vram=6`` and
        ``arch=Maxwell`` are the inventory's ``vram_gb`` and ``arch``, for a card the catalogue lacks.
        ``+`` mixes models.
        A model already declared keeps its declared figures unless the spec overrides them.
    psu=WATTS [CLASS]     e.g. ``psu=1300 gold``, ``psu=1300W``, ``psu=80 PLUS Gold``; without a class
                          the declared one stays, without watts the declared rating.
    memory=GB             e.g. ``memory=64``, ``memory=64GB`` (alias ``ram=``).

Everything here is pure: parsing returns data, :func:`apply_what_if` returns a changed deep copy of the
host's variables, and :func:`compare` / :func:`capacity` compute figures from plain dictionaries (the
JSON shape of a preflight host report), so the CLI, the docs and the tests share them.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlrig.catalogue import normalise
from dlrig.errors import InputError
from dlrig.hardware import (
    EFFICIENCY_CLASSES,
    MAX_GPU_COUNT,
    MAX_PART_W,
    MAX_PSU_W,
    MAX_RAM_GB,
    MAX_VRAM_GB,
    efficiency_class,
)

OPTION = "--what-if"
_KEYS = {"gpus": "gpus", "gpu": "gpus", "psu": "psu", "memory": "memory", "ram": "memory", "mem": "memory"}

_COUNT = re.compile(r"^\s*(?P<count>-?\d+(?:\.\d+)?)\s*(?:x|×|\*)\s*(?P<rest>.*)$", re.IGNORECASE)
_WATTS = re.compile(r"@\s*(?P<w>\d+(?:\.\d+)?)\s*w?\b", re.IGNORECASE)
_LIMIT = re.compile(r"\blimit\s*[=:]?\s*(?P<w>\d+(?:\.\d+)?)\s*w?\b", re.IGNORECASE)
_PSU = re.compile(r"^\s*(?:(?P<w>\d+(?:\.\d+)?)\s*(?:w|watts?)?(?![a-z]))?\s*(?P<cls>[a-z0-9 ]*?)\s*$",
                  re.IGNORECASE)
_VRAM = re.compile(r"\bvram(?:_gb)?\s*[=:]\s*(?P<gb>[^\s+]+?)\s*(?:gb|g|gib)?(?=\s|$)", re.IGNORECASE)
_ARCH = re.compile(r"\barch\s*[=:]\s*(?P<arch>[^\s+]*)", re.IGNORECASE)
_GB = re.compile(r"^\s*(?P<gb>\d+(?:\.\d+)?)\s*(?:gb|g|gib)?\s*$", re.IGNORECASE)
# The longest --what-if spec read. The patterns above run on values whose whitespace is collapsed to
# single spaces first, so that none of them backtracks over a run of spaces: parsing is linear.
MAX_SPEC_CHARS = 1000


@dataclass(frozen=True)
class PlannedGpu:
    """One kind of card in a ``gpus=`` spec."""

    model: str
    count: int = 1
    watts: float | None = None
    power_limit_w: float | None = None
    vram_gb: float | None = None
    arch: str | None = None

    def label(self) -> str:
        text = f"{self.count}x {self.model}"
        if self.watts is not None:
            text += f" @{_num(self.watts)}W"
        if self.power_limit_w is not None:
            text += f" limit={_num(self.power_limit_w)}W"
        if self.vram_gb is not None:
            text += f" vram={_num(self.vram_gb)}GB"
        if self.arch is not None:
            text += f" arch={self.arch}"
        return text


@dataclass(frozen=True)
class PsuSpec:
    watts: float | None = None
    efficiency: str | None = None


@dataclass(frozen=True)
class WhatIf:
    """A planned upgrade: any of new GPUs, a new PSU, a new amount of memory."""

    gpus: tuple[PlannedGpu, ...] | None = None
    psu: PsuSpec | None = None
    memory_gb: float | None = None
    specs: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> list[str]:
        """Human-readable lines, one per change."""
        lines: list[str] = []
        if self.gpus is not None:
            lines.append("gpus: " + " + ".join(g.label() for g in self.gpus))
        if self.psu is not None:
            parts = [f"{_num(self.psu.watts)} W" if self.psu.watts is not None else "",
                     self.psu.efficiency or ""]
            lines.append("psu: " + " ".join(p for p in parts if p))
        if self.memory_gb is not None:
            lines.append(f"memory: {_num(self.memory_gb)} GB")
        return lines


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _clip(text: str) -> str:
    """A number as the user typed it, cut short when it is absurdly long."""
    return text if len(text) <= 20 else text[:17] + "..."


def _positive(text: str, what: str, spec: str, host: str | None, maximum: float) -> float:
    value = float(text)
    if not 0 < value <= maximum:
        raise InputError(host, OPTION, f"{spec!r}: {what} must be > 0 and <= {maximum:g}, got {_clip(text)}")
    return value


def _parse_gpu(part: str, spec: str, host: str | None) -> PlannedGpu:
    text = part.strip()
    watts = limit = vram = None
    arch: str | None = None
    m = _ARCH.search(text)
    if m:
        arch = m.group("arch")
        if not arch:
            raise InputError(host, OPTION,
                             f"{spec!r}: name the architecture after 'arch=', e.g. 'arch=Maxwell'")
        text = (text[: m.start()] + text[m.end():]).strip()
    m = _VRAM.search(text)
    if m:
        raw = m.group("gb")
        if not re.fullmatch(r"\d+(?:\.\d+)?", raw):
            raise InputError(host, OPTION, f"{spec!r}: expected 'vram=GB', e.g. 'vram=6', got {_clip(raw)!r}")
        vram = _positive(raw, "the VRAM", spec, host, MAX_VRAM_GB)
        text = (text[: m.start()] + text[m.end():]).strip()
    m = _LIMIT.search(text)
    if m:
        limit = _positive(m.group("w"), "the power limit", spec, host, MAX_PART_W)
        text = (text[: m.start()] + text[m.end():]).strip()
    m = _WATTS.search(text)
    if m:
        watts = _positive(m.group("w"), "the board power", spec, host, MAX_PART_W)
        text = (text[: m.start()] + text[m.end():]).strip()
    if "@" in text or re.search(r"\blimit\b", text, re.IGNORECASE):
        raise InputError(host, OPTION, f"{spec!r}: cannot read the watts in {part.strip()!r}; "
                         "write e.g. 'gpus=2x RTX 2080@225W' or 'gpus=4x RTX 2070 limit=150W'")
    count = 1
    m = _COUNT.match(text)
    if m:
        raw = m.group("count")
        if not raw.isdigit():
            raise InputError(host, OPTION, f"{spec!r}: the GPU count must be a whole number >= 1, got {raw}")
        # int() refuses strings of thousands of digits: anything this long is over the bound anyway.
        count = int(raw) if len(raw) <= 6 else MAX_GPU_COUNT + 1
        if not 1 <= count <= MAX_GPU_COUNT:
            raise InputError(host, OPTION,
                             f"{spec!r}: the GPU count must be >= 1 and <= {MAX_GPU_COUNT}, got {_clip(raw)}")
        text = m.group("rest").strip()
    model = " ".join(text.split())
    if re.match(r"^\d+\s+\S", model):
        count_text, rest = model.split(None, 1)
        raise InputError(host, OPTION,
                         f"{spec!r}: write the count with an x, e.g. 'gpus={count_text}x {rest}'")
    if not model or model.isdigit():
        raise InputError(host, OPTION, f"{spec!r}: name the GPU model, e.g. 'gpus=2x GeForce RTX 2080'")
    return PlannedGpu(model=model, count=count, watts=watts, power_limit_w=limit, vram_gb=vram, arch=arch)


def parse_specs(specs: Sequence[str], host: str | None = None) -> WhatIf:
    """Parse the ``--what-if`` flags into one :class:`WhatIf`; bad specs raise :class:`InputError`."""
    gpus: tuple[PlannedGpu, ...] | None = None
    psu: PsuSpec | None = None
    memory: float | None = None
    seen: dict[str, str] = {}
    for spec in specs:
        if len(spec) > MAX_SPEC_CHARS:
            raise InputError(host, OPTION, f"{spec[:40]!r}...: longer than {MAX_SPEC_CHARS} characters")
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in spec):
            raise InputError(host, OPTION, f"{spec!r}: contains control characters")
        if "=" not in spec:
            raise InputError(host, OPTION, f"{spec!r}: expected KEY=VALUE with KEY one of gpus, psu, memory "
                             "(e.g. 'gpus=2x GeForce RTX 2080', 'psu=1300 gold', 'memory=64')")
        raw_key, value = spec.split("=", 1)
        value = " ".join(value.split())
        key = _KEYS.get(raw_key.strip().lower())
        if key is None:
            raise InputError(host, OPTION, f"{spec!r}: unknown key {raw_key.strip()!r}; "
                             "use gpus=, psu= or memory=")
        if key in seen:
            raise InputError(host, OPTION, f"{spec!r}: {key} is already planned by {seen[key]!r}; "
                             "give each of gpus, psu, memory once (use '+' to mix GPU models)")
        seen[key] = spec
        if not value.strip():
            raise InputError(host, OPTION, f"{spec!r}: no value after '='")
        if key == "gpus":
            gpus = tuple(_parse_gpu(part, spec, host) for part in value.split("+"))
        elif key == "psu":
            whole = efficiency_class(value) if not value.strip()[:1].isdigit() or re.match(
                r"^\s*80\s*plus", value, re.IGNORECASE) else None
            m = _PSU.match("" if whole else value)
            named = m.group("cls") if m else ""
            cls = whole or (efficiency_class(named) if named else None)
            if not m or (m.group("w") is None and cls is None):
                raise InputError(host, OPTION,
                                 f"{spec!r}: expected 'psu=WATTS [CLASS]', e.g. 'psu=1300 gold'")
            if named and cls is None:
                raise InputError(host, OPTION, f"{spec!r}: unknown efficiency class {named!r}; "
                                 f"use one of {', '.join(EFFICIENCY_CLASSES)}")
            watts = _positive(m.group("w"), "the PSU rating", spec, host, MAX_PSU_W) if m.group("w") else None
            psu = PsuSpec(watts=watts, efficiency=cls)
        else:
            m = _GB.match(value)
            if not m:
                raise InputError(host, OPTION, f"{spec!r}: expected 'memory=GB', e.g. 'memory=64'")
            memory = _positive(m.group("gb"), "the memory size", spec, host, MAX_RAM_GB)
    return WhatIf(gpus=gpus, psu=psu, memory_gb=memory, specs=tuple(specs))


def _as_whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def apply_what_if(hostvars: Mapping[str, Any], what_if: WhatIf, same_model: Any = None) -> dict[str, Any]:
    """A deep copy of ``hostvars`` with the planned changes; the input is never modified.

    ``same_model(a, b) -> bool`` decides whether a planned model is a declared one (default: the
    catalogue's name matching, which ignores case and vendor words); a declared model keeps its declared
    ``watts``/``vram_gb``/``power_limit_w`` unless the spec sets them.
    """
    planned: dict[str, Any] = copy.deepcopy(dict(hostvars))
    hardware = planned.get("hardware")
    if not isinstance(hardware, dict):
        raise InputError(None, OPTION, "the host declares no 'hardware'; nothing to plan against")
    same = same_model or (lambda a, b: normalise(str(a)) == normalise(str(b)))
    if what_if.gpus is not None:
        declared = [g for g in hardware.get("gpus") or [] if isinstance(g, dict)]
        new: list[dict[str, Any]] = []
        for gpu in what_if.gpus:
            entry: dict[str, Any] = {"model": gpu.model, "count": gpu.count}
            for old in declared:
                if "model" in old and same(old["model"], gpu.model):
                    entry.update({k: v for k, v in old.items() if k not in ("model", "count")})
                    break
            if gpu.watts is not None:
                entry["watts"] = _as_whole(gpu.watts)
            if gpu.power_limit_w is not None:
                entry["power_limit_w"] = _as_whole(gpu.power_limit_w)
            if gpu.vram_gb is not None:
                entry["vram_gb"] = _as_whole(gpu.vram_gb)
            if gpu.arch is not None:
                entry["arch"] = gpu.arch
            new.append(entry)
        hardware["gpus"] = new
    if what_if.psu is not None:
        old_psu = hardware.get("psu")
        psu: dict[str, Any] = dict(old_psu) if isinstance(old_psu, dict) else {}
        if what_if.psu.watts is not None:
            psu["watts"] = _as_whole(what_if.psu.watts)
        if what_if.psu.efficiency is not None:
            psu["efficiency"] = what_if.psu.efficiency
        hardware["psu"] = psu
    if what_if.memory_gb is not None:
        old_memory = hardware.get("memory")
        memory: dict[str, Any] = dict(old_memory) if isinstance(old_memory, dict) else {}
        hardware["memory"] = {**memory, "gb": _as_whole(what_if.memory_gb)}
    return planned


# --- comparison -----------------------------------------------------------------------------------

# The figures worth a column in the side-by-side view, in display order.
SUMMARY_FIGURES = (
    ("gpu_count", "GPUs", ""),
    ("vram_gb", "VRAM", "GB"),
    ("ram_gb", "RAM", "GB"),
    ("max_draw_w", "max draw", "W"),
    ("psu_w", "PSU", "W"),
    ("load_pct", "PSU load", "%"),
    ("lanes_used", "lanes used", ""),
    ("lanes_available", "lanes available", ""),
    ("monthly_cost", "energy / month", ""),
)

@dataclass(frozen=True)
class CheckRow:
    id: str
    today: dict[str, Any] | None
    planned: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return (self.today or {}).get("status") != (self.planned or {}).get("status")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "today": self.today, "planned": self.planned, "changed": self.changed}


def _check_view(check: Mapping[str, Any]) -> dict[str, Any]:
    from dlrig.checks.registry import REGISTRY

    described = REGISTRY.get(str(check.get("id")), "what_if")
    keys = described.figures if described is not None else ()
    figures = {k: check[k] for k in keys if k in check}
    return {"status": check.get("status"), "message": check.get("message"), "figures": figures}


def compare(today: Mapping[str, Any], planned: Mapping[str, Any]) -> dict[str, Any]:
    """Side by side: each check's status, message and key figures, and the summaries' figures.

    ``today``/``planned`` are host entries of the preflight JSON (``{"name", "verdict", "checks",
    "summary"}``).
    """
    t_checks = {c.get("id"): c for c in today.get("checks") or []}
    p_checks = {c.get("id"): c for c in planned.get("checks") or []}
    ids = list(t_checks) + [i for i in p_checks if i not in t_checks]
    rows = [CheckRow(id=str(i),
                     today=_check_view(t_checks[i]) if i in t_checks else None,
                     planned=_check_view(p_checks[i]) if i in p_checks else None) for i in ids]
    t_sum = today.get("summary") or {}
    p_sum = planned.get("summary") or {}
    figures = [{"figure": key, "label": label, "unit": unit, "today": t_sum.get(key),
                "planned": p_sum.get(key)}
               for key, label, unit in SUMMARY_FIGURES if key in t_sum or key in p_sum]
    return {
        "verdict": {"today": today.get("verdict"), "planned": planned.get("verdict")},
        "checks": [r.as_dict() for r in rows],
        "figures": figures,
        "currency": p_sum.get("currency") or t_sum.get("currency"),
    }


# --- capacity -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Capacity:
    """How many cards of one model the PSU, the slots and the CPU's lanes could take."""

    model: str
    card_w: float
    by_psu: int            # within the PSU's rating
    by_psu_headroom: int   # keeping the declared headroom free
    by_slots: int
    by_lanes: int

    @property
    def limit(self) -> int:
        return max(0, min(self.by_psu, self.by_slots, self.by_lanes))

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "card_w": _as_whole(self.card_w), "by_psu": self.by_psu,
                "by_psu_headroom": self.by_psu_headroom, "by_slots": self.by_slots,
                "by_lanes": self.by_lanes, "limit": self.limit}


def capacity(*, model: str, card_w: float, gpu_count: int, gpus_w: float, max_draw_w: float,
             psu_w: float, headroom_pct: float, slots: Sequence[int], lanes_available: int,
             lanes_other: int) -> Capacity:
    """Cards of ``model`` (each drawing ``card_w``) that could replace the host's GPUs.

    ``max_draw_w`` is the whole build's draw with its ``gpu_count`` cards, ``gpus_w`` those cards'
    share of it; ``slots`` the electrical widths of the GPU slots (filled in order); ``lanes_other`` the
    CPU lanes that NVMe and other PCIe devices take.
    """
    if card_w <= 0:
        raise InputError(None, OPTION, f"{model}: a card's watts must be > 0")
    base = max_draw_w - gpus_w
    by_psu = max(0, math.floor((psu_w - base) / card_w + 1e-9))
    usable = psu_w * (1 - headroom_pct / 100)
    by_headroom = max(0, math.floor((usable - base) / card_w + 1e-9))
    by_lanes = 0
    used = lanes_other
    for width in slots:
        if used + width > lanes_available:
            break
        used += width
        by_lanes += 1
    return Capacity(model=model, card_w=card_w, by_psu=by_psu, by_psu_headroom=by_headroom,
                    by_slots=len(slots), by_lanes=by_lanes)


def capacity_for(plan: Any, model: str | None = None) -> Capacity | None:
    """:func:`capacity` for a parsed :class:`dlrig.hardware.HostPlan`: cards of ``model`` (default: the
    plan's last GPU line, i.e. the card being added) that its PSU, slots and CPU lanes could take.

    ``None`` when the plan lacks what the question needs (no GPU, PSU, CPU or motherboard declared).
    """
    from dlrig.checks.pcie import other_lanes
    from dlrig.checks.psu import max_draw_w

    hw = plan.hardware
    if hw is None or not hw.gpus or hw.psu is None or hw.cpu is None or hw.motherboard is None:
        return None
    target = hw.gpus[-1]
    if model is not None:
        target = next((g for g in hw.gpus if normalise(g.model) == normalise(model)), target)
    gpus_w = sum(g.count * g.budget_w for g in hw.gpus)
    return capacity(model=target.model, card_w=target.budget_w, gpu_count=hw.gpu_count, gpus_w=gpus_w,
                    max_draw_w=max_draw_w(hw), psu_w=hw.psu.watts, headroom_pct=plan.power.headroom_pct,
                    slots=hw.motherboard.gpu_slots, lanes_available=hw.cpu.pcie_lanes,
                    lanes_other=sum(r["lanes"] for r in other_lanes(hw)))


# --- the what-if document ----------------------------------------------------------------------

WHAT_IF_HELP = (
    "plan an upgrade without editing the inventory; repeat to combine: 'gpus=2x GeForce RTX 2080', "
    "'gpus=4x RTX 2080@225W' (board power per card), 'gpus=4x RTX 2070 limit=150W' (power limit), "
    "'gpus=RTX 2070 + 2x RTX 2080', 'psu=1300 gold', 'psu=1300', 'memory=64'"
)


def _spec_hint(problem: str) -> str:
    """A planned card's missing figures go into the spec, not the inventory (issue 19, finding 8)."""
    return problem.replace(
        "in the inventory",
        "in the spec, e.g. 'gpus=2x MODEL@250W vram=6 arch=Maxwell' (@ is watts, vram in GB)")


def what_if_host(name: str, hostvars: dict[str, Any], specs: Sequence[str]) -> dict[str, Any]:
    """One host's what-if entry: today's and the planned report, their comparison, the capacity."""
    from dlrig.checks import run_checks
    from dlrig.hardware import parse_host
    from dlrig.output.document import host_entry

    plan = parse_specs(specs, host=name)
    today_plan = parse_host(name, hostvars)
    if today_plan.hardware is None:
        return host_entry(today_plan, [], what_if=list(specs), changes=plan.describe(), today=None,
                          planned=None, comparison=None, capacity=None, software=None)
    try:
        planned_vars = apply_what_if(hostvars, plan)
    except InputError as exc:
        raise InputError(name, exc.path, exc.problem) from None
    try:
        planned_plan = parse_host(name, planned_vars)
    except InputError as exc:   # an unknown model, a PSU class the inventory parser refuses, ...
        raise InputError(name, "--what-if", f"{exc.path}: {_spec_hint(exc.problem)}") from None
    today_checks = run_checks(today_plan, "what_if")
    planned_checks = run_checks(planned_plan, "what_if")
    today = host_entry(today_plan, today_checks)
    planned = host_entry(planned_plan, planned_checks)
    cap = capacity_for(planned_plan)
    # The host's own checks and summary are the planned build's; today's and the comparison beside them.
    return host_entry(planned_plan, planned_checks, what_if=list(specs), changes=plan.describe(),
                      today=today, planned=planned, comparison=compare(today, planned),
                      capacity=None if cap is None else cap.as_dict(),
                      software=planned_software(today, planned_plan))


def planned_software(today: dict[str, Any], planned_plan: Any) -> dict[str, Any] | None:
    """What the plan does to the software: the driver decision the upgrade would take on a box running
    today's resolved stack, and its lines ("driver 595 → 580 (downgrade: …)", "CUDA 13.2 → 12.9",
    "PyTorch environment rebuilt (cu132 → cu126)", …). None when today's stack is not resolved."""
    from dlrig.checks.stack import resolved_driver
    from dlrig.upgrade.driver import change_lines, decide_driver

    branch = resolved_driver(today.get("checks") or [])
    if planned_plan.os is None or not branch:
        return None
    decision = decide_driver(planned_plan, str(branch), planned_plan.os.distribution, planned_plan.os.release)
    changes = decision.action in ("upgrade", "downgrade")
    return {"driver": decision.as_dict(), "changes": changes, "lines": change_lines(decision)}


def what_if_document(hosts: Sequence[tuple[str, dict[str, Any]]], specs: Sequence[str]) -> dict[str, Any]:
    from dlrig.output.document import document

    parse_specs(specs)  # a bad spec is reported once, before any host
    return document("what_if", [what_if_host(name, hostvars, specs) for name, hostvars in hosts],
                    what_if=list(specs))
