"""The ``--what-if`` spec: a planned upgrade parsed and applied to a host's declaration (the inventory
is not edited).

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
host's variables. The comparison and the document are :mod:`dlrig.upgrade.whatif`, the capacity
:mod:`dlrig.upgrade.capacity`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlrig.errors import InputError
from dlrig.output.numbers import num, whole
from dlrig.plan.catalogue import normalise
from dlrig.plan.model import EFFICIENCY_CLASSES
from dlrig.plan.parse import MAX_GPU_COUNT, MAX_PART_W, MAX_PSU_W, MAX_RAM_GB, MAX_VRAM_GB, efficiency_class

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
            text += f" @{num(self.watts, '?')}W"
        if self.power_limit_w is not None:
            text += f" limit={num(self.power_limit_w, '?')}W"
        if self.vram_gb is not None:
            text += f" vram={num(self.vram_gb, '?')}GB"
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
            parts = [f"{num(self.psu.watts, '?')} W" if self.psu.watts is not None else "",
                     self.psu.efficiency or ""]
            lines.append("psu: " + " ".join(p for p in parts if p))
        if self.memory_gb is not None:
            lines.append(f"memory: {num(self.memory_gb, '?')} GB")
        return lines


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
                entry["watts"] = whole(gpu.watts)
            if gpu.power_limit_w is not None:
                entry["power_limit_w"] = whole(gpu.power_limit_w)
            if gpu.vram_gb is not None:
                entry["vram_gb"] = whole(gpu.vram_gb)
            if gpu.arch is not None:
                entry["arch"] = gpu.arch
            new.append(entry)
        hardware["gpus"] = new
    if what_if.psu is not None:
        old_psu = hardware.get("psu")
        psu: dict[str, Any] = dict(old_psu) if isinstance(old_psu, dict) else {}
        if what_if.psu.watts is not None:
            psu["watts"] = whole(what_if.psu.watts)
        if what_if.psu.efficiency is not None:
            psu["efficiency"] = what_if.psu.efficiency
        hardware["psu"] = psu
    if what_if.memory_gb is not None:
        old_memory = hardware.get("memory")
        memory: dict[str, Any] = dict(old_memory) if isinstance(old_memory, dict) else {}
        hardware["memory"] = {**memory, "gb": whole(what_if.memory_gb)}
    return planned


WHAT_IF_HELP = (
    "plan an upgrade without editing the inventory; repeat to combine: 'gpus=2x GeForce RTX 2080', "
    "'gpus=4x RTX 2080@225W' (board power per card), 'gpus=4x RTX 2070 limit=150W' (power limit), "
    "'gpus=RTX 2070 + 2x RTX 2080', 'psu=1300 gold', 'psu=1300', 'memory=64'"
)
