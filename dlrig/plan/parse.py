"""Parse and validate a host's variables (``hardware``, ``power``, ``os``, ``stack``) into a HostPlan.

Every bad input raises :class:`dlrig.errors.InputError` naming the host and the variable path, e.g.
``deep-al: hardware.gpus[0].count: expected a whole number >= 1, got 'two'``. Figures given in the
inventory win over the catalogue; the catalogue fills in what the inventory leaves out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dlrig.errors import VAULTED_SHOWN, InputError, is_vaulted
from dlrig.plan.catalogue import find_cpu, find_gpu, suggest_cpus, suggest_gpus
from dlrig.plan.model import (
    EFFICIENCY_CLASSES,
    Cooler,
    Cpu,
    Drive,
    GpuDecl,
    Hardware,
    HostPlan,
    Memory,
    Motherboard,
    OsRelease,
    PcieDevice,
    Power,
    Psu,
)
from dlrig.plan.placeholders import refuse as refuse_placeholders
from dlrig.plan.typical import TYPICAL_W

SLOT_WIDTHS = (1, 2, 4, 8, 16)
NVME_DEFAULT_LANES = 4

# Upper bounds of what a workstation's declaration can sensibly say: beyond them a figure is a typo
# (an extra zero, watts given in mW), and it would only overflow the arithmetic of the checks.
MAX_FIGURE = float("inf")
MAX_GPU_COUNT = 64          # cards of one model in one box
MAX_PART_W = 5000           # any single part, GPU power limits included
MAX_PSU_W = 20000
MAX_CPU_LANES = 512
MAX_RAM_GB = 65536
MAX_VRAM_GB = 4096
MAX_PRICE_PER_KWH = 1000    # in any currency's main unit


# --- small typed readers -------------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")
_MAX_NUMBER_TEXT = 40
_MAX_INT = 10**300  # float() overflows past 308 digits; no figure of a build comes near either
_SHOWN_DIGITS = 60
# The longest name (a model, a distribution, ...) read from an inventory.
MAX_TEXT = 200
_COMMENT_KEYS = frozenset({"notes", "note", "comment"})


class _Reader:
    """Reads typed values out of one host's variables, raising InputError with the variable path."""

    def __init__(self, host: str) -> None:
        self.host = host

    def fail(self, path: str, problem: str) -> InputError:
        return InputError(self.host, path, problem)

    def mapping(self, value: Any, path: str, allowed: frozenset[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {_show(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be names, got {_show(key)}")
            if allowed is not None and key not in allowed and key not in _COMMENT_KEYS:
                hint = _closest(key, allowed)
                expected = ", ".join(sorted(allowed))
                where = f"{path}.{key}" if re.fullmatch(r"\w+", key) else f"{path}[{key!r}]"
                raise self.fail(where, f"unknown key{hint}; expected one of {expected}")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            raise self.fail(path, f"expected a list, got {_show(value)}")
        return list(value)

    def text(self, value: Any, path: str, required: bool = True, hint: str = "give a name") -> str | None:
        if value is None:
            if required:
                raise self.fail(path, f"missing; {hint}")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(path, f"expected text, got {_show(value)}")
        if isinstance(value, int) and abs(value) > _MAX_INT:
            raise self.fail(path, f"expected text, got {_show(value)}")
        text = str(value).strip()
        if not text and required:
            raise self.fail(path, "must not be empty")
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in "\u2028\u2029" for ch in text):
            raise self.fail(path, "contains control characters (a newline, a terminal escape), "
                            f"got {_show(text)}")
        if len(text) > MAX_TEXT:
            raise self.fail(path, f"longer than {MAX_TEXT} characters, got {_show(text)}")
        return text or None

    def number(self, value: Any, path: str, *, minimum: float = 0, strict: bool = False,
               whole: bool = False, what: str = "number", maximum: float = MAX_FIGURE) -> float:
        low = f"{'>' if strict else '>='} {minimum:g}"
        bound = f"{low} and <= {maximum:g}" if maximum != MAX_FIGURE else low
        expected = f"expected a {'whole number' if whole else what} {bound}"
        if isinstance(value, str) and len(value) <= _MAX_NUMBER_TEXT and _NUMBER.match(value):
            number: float = float(value)
        elif (isinstance(value, bool) or not isinstance(value, (int, float))
              or (isinstance(value, int) and abs(value) > _MAX_INT)):  # float() of 309+ digits overflows
            raise self.fail(path, f"{expected}, got {_show(value)}")
        else:
            number = float(value)
        if not math.isfinite(number) or (whole and number != int(number)):
            raise self.fail(path, f"{expected}, got {_show(value)}")
        if number < minimum or (strict and number == minimum) or number > maximum:
            raise self.fail(path, f"{expected}, got {_show(value)}")
        return int(number) if number.is_integer() else number

    def integer(self, value: Any, path: str, *, minimum: int = 0, maximum: float = MAX_FIGURE) -> int:
        return int(self.number(value, path, minimum=minimum, whole=True, maximum=maximum))

    def flag(self, value: Any, path: str) -> bool:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "yes", "on", "false", "no", "off"}:
            return value.strip().lower() in {"true", "yes", "on"}
        raise self.fail(path, f"expected true or false, got {_show(value)}")


def _show(value: Any) -> str:
    if is_vaulted(value):
        return VAULTED_SHOWN
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_SHOWN_DIGITS:
        # repr() of 4300+ digits raises; the size is what matters
        digits = int((abs(value).bit_length() - 1) * 0.30102999566398120)  # a lower bound of digits - 1
        while abs(value) >= 10**digits:
            digits += 1
        return f"a number of {digits} digits"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(key: str, allowed: frozenset[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


# --- the sections --------------------------------------------------------------------------------

_HARDWARE_KEYS = frozenset({"cpu", "motherboard", "memory", "cooler", "storage", "other_pcie", "gpus", "psu"})


def _watts(r: _Reader, value: Any, path: str, *, hint: str) -> float:
    if value is None:
        raise r.fail(path, f"missing; give the part's maximum power draw in W ({hint})")
    return r.number(value, path, maximum=MAX_PART_W)


def _cpu(r: _Reader, value: Any) -> Cpu:
    path = "hardware.cpu"
    m = r.mapping(value, path, frozenset({"model", "watts", "pcie_lanes", "pcie_gen"}))
    model = r.text(m.get("model"), f"{path}.model")
    assert model is not None
    spec = find_cpu(model)
    if spec is None and (m.get("watts") is None or m.get("pcie_lanes") is None):
        missing = " and ".join(k for k in ("watts", "pcie_lanes") if m.get(k) is None)
        raise r.fail(f"{path}.model", _unknown("CPU", model, missing, suggest_cpus(model)))
    watts = (spec.watts if m.get("watts") is None and spec
             else r.number(m.get("watts"), f"{path}.watts", maximum=MAX_PART_W))
    lanes = (spec.pcie_lanes if m.get("pcie_lanes") is None and spec
             else r.integer(m.get("pcie_lanes"), f"{path}.pcie_lanes", maximum=MAX_CPU_LANES))
    gen = _gen(r, m.get("pcie_gen"), f"{path}.pcie_gen")
    return Cpu(model, watts, lanes, gen if gen is not None else (spec.pcie_gen if spec else None), spec)


def _gen(r: _Reader, value: Any, path: str) -> int | None:
    if value is None:
        return None
    gen = r.integer(value, path, minimum=1)
    if gen > 7:
        raise r.fail(path, f"expected a PCIe generation 1-7, got {_show(value)}")
    return gen


def _lanes(r: _Reader, value: Any, path: str, *, allow_none: bool = False) -> int:
    lanes = r.integer(value, path, minimum=0 if allow_none else 1)
    widths = ((0,) if allow_none else ()) + tuple(sorted(SLOT_WIDTHS))
    if lanes not in widths:
        listed = f"{', '.join(map(str, widths[:-1]))} or {widths[-1]}"
        raise r.fail(path, f"expected a PCIe width of {listed} lanes, got {_show(value)}")
    return lanes


def architecture_names() -> list[str]:
    """The GPU architectures of the version matrix, oldest first: the values of ``hardware.gpus[].arch``."""
    from dlrig.stack.matrix_file import load_matrix  # the matrix imports nothing of this module

    return [arch.name for arch in load_matrix().architectures]


def _unknown(kind: str, model: str, missing: str, suggestions: list[str]) -> str:
    near = f"; closest catalogued: {', '.join(suggestions)}" if suggestions else ""
    return f"{kind} {model!r} is not in the catalogue; give its {missing} in the inventory{near}"


def _motherboard(r: _Reader, value: Any) -> Motherboard:
    path = "hardware.motherboard"
    m = r.mapping(value, path, frozenset({"model", "gpu_slots", "gpu_slots_by_count", "watts", "pcie_gen"}))
    slots = _slot_widths(r, m.get("gpu_slots"), f"{path}.gpu_slots")
    by_count: dict[int, list[int]] = {}
    shared = {} if m.get("gpu_slots_by_count") is None else m["gpu_slots_by_count"]
    if not isinstance(shared, Mapping):  # keys are card counts (numbers), so not r.mapping
        raise r.fail(f"{path}.gpu_slots_by_count",
                     "expected a mapping of card count to slot widths, e.g. {1: [16]}, "
                     f"got {_show(shared)}")
    for key, widths in shared.items():
        where = f"{path}.gpu_slots_by_count[{key}]"
        cards = r.integer(key, where, minimum=1, maximum=max(1, len(slots)))
        listed = _slot_widths(r, widths, where)
        if not 1 <= len(listed) <= cards:
            raise r.fail(where, f"expected the widths of the first 1 to {cards} slots, got {len(listed)}")
        by_count[cards] = listed
    watts = _watts(r, m.get("watts"), f"{path}.watts", hint=TYPICAL_W["motherboard"])
    return Motherboard(r.text(m.get("model"), f"{path}.model", required=False), slots, watts,
                       _gen(r, m.get("pcie_gen"), f"{path}.pcie_gen"), by_count,
                       gpu_slots_declared=m.get("gpu_slots") is not None)


def _slot_widths(r: _Reader, value: Any, path: str) -> list[int]:
    slots = []
    for i, slot in enumerate(r.sequence(value, path)):
        width = r.integer(slot, f"{path}[{i}]", minimum=1)
        if width not in SLOT_WIDTHS:
            raise r.fail(f"{path}[{i}]",
                         f"expected a slot width of 1, 2, 4, 8 or 16 lanes, got {_show(slot)}")
        slots.append(width)
    return slots


def _memory(r: _Reader, value: Any) -> Memory:
    path = "hardware.memory"
    m = r.mapping(value, path, frozenset({"gb", "watts", "model"}))
    if m.get("gb") is None:
        raise r.fail(f"{path}.gb", "missing; give the installed RAM in GB")
    gb = r.number(m.get("gb"), f"{path}.gb", minimum=0.5, maximum=MAX_RAM_GB)
    return Memory(gb, _watts(r, m.get("watts"), f"{path}.watts", hint=TYPICAL_W["memory"]))


def _cooler(r: _Reader, value: Any) -> Cooler:
    path = "hardware.cooler"
    m = r.mapping(value, path, frozenset({"model", "watts"}))
    return Cooler(r.text(m.get("model"), f"{path}.model", required=False),
                  _watts(r, m.get("watts"), f"{path}.watts", hint=TYPICAL_W["cooler"]))


def _drive(r: _Reader, value: Any, path: str) -> Drive:
    m = r.mapping(value, path, frozenset({"model", "interface", "pcie_lanes", "watts", "via_chipset"}))
    interface = (r.text(m.get("interface"), f"{path}.interface", required=False) or "sata").lower()
    if interface not in {"nvme", "sata", "sas", "usb", "pcie"}:
        raise r.fail(f"{path}.interface",
                     f"expected nvme, sata, sas, usb or pcie, got {_show(m.get('interface'))}")
    default_lanes = NVME_DEFAULT_LANES if interface in {"nvme", "pcie"} else 0
    lanes = (default_lanes if m.get("pcie_lanes") is None
             else _lanes(r, m.get("pcie_lanes"), f"{path}.pcie_lanes", allow_none=True))
    return Drive(r.text(m.get("model"), f"{path}.model", required=False), interface, lanes,
                 _watts(r, m.get("watts"), f"{path}.watts", hint=TYPICAL_W[f"storage.{interface}"]),
                 r.flag(m.get("via_chipset"), f"{path}.via_chipset"))


def _pcie_device(r: _Reader, value: Any, path: str) -> PcieDevice:
    m = r.mapping(value, path, frozenset({"model", "pcie_lanes", "watts", "via_chipset"}))
    if m.get("pcie_lanes") is None:
        raise r.fail(f"{path}.pcie_lanes", "missing; give the card's PCIe width (1, 4, 8 or 16)")
    return PcieDevice(r.text(m.get("model"), f"{path}.model", required=False),
                      _lanes(r, m.get("pcie_lanes"), f"{path}.pcie_lanes"),
                      _watts(r, m.get("watts"), f"{path}.watts", hint=TYPICAL_W["other_pcie"]),
                      r.flag(m.get("via_chipset"), f"{path}.via_chipset"))


def _gpu(r: _Reader, value: Any, path: str) -> GpuDecl:
    m = r.mapping(value, path, frozenset({"model", "count", "watts", "vram_gb", "power_limit_w", "arch"}))
    model = r.text(m.get("model"), f"{path}.model")
    assert model is not None
    count = (1 if m.get("count") is None
             else r.integer(m.get("count"), f"{path}.count", minimum=1, maximum=MAX_GPU_COUNT))
    spec = find_gpu(model)
    if spec is None and (m.get("watts") is None or m.get("vram_gb") is None):
        keys = [k for k in ("watts", "vram_gb", "arch") if m.get(k) is None]
        missing = ", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else keys[0]
        if "arch" in keys:  # the stack check refuses to resolve without it: ask for all three at once
            missing += f" (arch: one of {', '.join(architecture_names())})"
        raise r.fail(f"{path}.model", _unknown("GPU", model, missing, suggest_gpus(model)))
    watts = (spec.watts if m.get("watts") is None and spec
             else r.number(m.get("watts"), f"{path}.watts", minimum=1, maximum=MAX_PART_W))
    vram = (spec.vram_gb if m.get("vram_gb") is None and spec
            else r.number(m.get("vram_gb"), f"{path}.vram_gb", minimum=0.1, maximum=MAX_VRAM_GB))
    limit = m.get("power_limit_w")
    power_limit = (None if limit is None
                   else r.number(limit, f"{path}.power_limit_w", minimum=1, maximum=MAX_PART_W))
    arch = r.text(m.get("arch"), f"{path}.arch", required=False)
    return GpuDecl(spec.name if spec else model, count, watts, vram, power_limit, spec, arch)


def _psu(r: _Reader, value: Any) -> Psu:
    path = "hardware.psu"
    m = r.mapping(value, path, frozenset({"model", "watts", "efficiency"}))
    if m.get("watts") is None:
        raise r.fail(f"{path}.watts", "missing; give the PSU's rated output in W")
    watts = r.number(m.get("watts"), f"{path}.watts", minimum=1, maximum=MAX_PSU_W)
    raw = r.text(m.get("efficiency"), f"{path}.efficiency", required=False) or "none"
    efficiency = efficiency_class(raw)
    if efficiency is None:
        raise r.fail(f"{path}.efficiency",
                     f"unknown 80 PLUS class {raw!r}; expected one of {', '.join(EFFICIENCY_CLASSES)}")
    return Psu(watts, efficiency)


def efficiency_class(raw: str) -> str | None:
    """The 80 PLUS class a text names ("80 PLUS Gold" -> gold; "80 plus", "standard" -> white), or None."""
    name = re.sub(r"^80\s*plus\s*", "", raw.strip().lower()).strip() or "white"
    name = "white" if name in {"standard", "80plus"} else name
    return name if name in EFFICIENCY_CLASSES else None


class _Problems:
    """Every problem of one host, so that a hand-written declaration is fixed in one pass (issue 19):
    each section and list item is read on its own, a bad one is noted and the next is read."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def read(self, parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except InputError as exc:
            self.errors.extend(getattr(exc, "parts", None) or [exc])
            return None

    def raise_any(self) -> None:
        if self.errors:
            raise combined(self.errors)


def combined(errors: list[InputError]) -> InputError:
    """One InputError for several problems of a host: the first's path and problem, then `` | path:
    problem`` for each other, on one line (the CLI's one error line names the host once)."""
    first, rest = errors[0], errors[1:]
    tail = "".join(f" | {e.path}: {e.problem}" if e.path else f" | {e.problem}" for e in rest)
    error = InputError(first.host, first.path, first.problem + tail)
    error.parts = list(errors)  # type: ignore[attr-defined]
    return error


def parse_hardware(r: _Reader, value: Any) -> Hardware:
    problems = _Problems()
    hw = r.mapping(value, "hardware")
    problems.read(r.mapping, value, "hardware", _HARDWARE_KEYS)  # an unknown key; the rest is still read

    def section(key: str, parse: Any) -> Any:
        return None if hw.get(key) is None else problems.read(parse, r, hw[key])

    def items(key: str, parse: Any) -> list[Any]:
        listed = problems.read(r.sequence, hw.get(key), f"hardware.{key}") or []
        return [problems.read(parse, r, item, f"hardware.{key}[{i}]") for i, item in enumerate(listed)]

    hardware = Hardware(
        cpu=section("cpu", _cpu),
        motherboard=section("motherboard", _motherboard),
        memory=section("memory", _memory),
        cooler=section("cooler", _cooler),
        storage=items("storage", _drive),
        other_pcie=items("other_pcie", _pcie_device),
        gpus=items("gpus", _gpu),
        psu=section("psu", _psu),
    )
    problems.raise_any()
    return hardware


def _power(r: _Reader, value: Any) -> Power:
    if value is None:
        return Power()
    m = r.mapping(value, "power", frozenset({"price_per_kwh", "currency", "headroom_pct", "mains_v"}))
    price = m.get("price_per_kwh")
    headroom = m.get("headroom_pct")
    headroom_pct = 10.0 if headroom is None else r.number(headroom, "power.headroom_pct")
    if headroom_pct >= 100:
        raise r.fail("power.headroom_pct", f"expected a percentage below 100, got {_show(headroom)}")
    mains = 230 if m.get("mains_v") is None else r.integer(m.get("mains_v"), "power.mains_v")
    if mains not in (115, 230):
        raise r.fail("power.mains_v",
                     f"expected 115 or 230 (the 80 PLUS test voltages), got {_show(m.get('mains_v'))}")
    return Power(
        price_per_kwh=(None if price is None
                       else r.number(price, "power.price_per_kwh", maximum=MAX_PRICE_PER_KWH)),
        currency=r.text(m.get("currency"), "power.currency", required=False) or "EUR",
        headroom_pct=headroom_pct,
        mains_v=mains,
    )


def _os(r: _Reader, value: Any) -> OsRelease | None:
    if value is None:
        return None
    m = r.mapping(value, "os", frozenset({"distribution", "release"}))
    distribution = r.text(m.get("distribution"), "os.distribution", hint="e.g. distribution: Ubuntu")
    release = r.text(m.get("release"), "os.release", hint='quote it, e.g. release: "22.04"')
    assert distribution is not None and release is not None
    return OsRelease(distribution, release)


def _stack(r: _Reader, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    m = r.mapping(value, "stack")
    pins: dict[str, str] = {}
    for key, pin in m.items():
        if pin is None:
            continue
        text = r.text(pin, f"stack.{key}")
        assert text is not None
        pins[key] = text
    return pins


def parse_host(name: str, hostvars: Mapping[str, Any]) -> HostPlan:
    """The validated plan of one host, from its variables as a playbook sees them."""
    r = _Reader(name)
    if not isinstance(hostvars, Mapping):
        raise r.fail("", f"expected the host's variables as a mapping, got {_show(hostvars)}")
    refuse_placeholders(name, hostvars)  # `dlrig init`'s "FILL IN: ..." values (docs/init.md)
    hardware = hostvars.get("hardware")
    problems = _Problems()
    plan = HostPlan(
        name=name,
        hardware=None if hardware is None else problems.read(parse_hardware, r, hardware),
        power=problems.read(_power, r, hostvars.get("power")),
        os=problems.read(_os, r, hostvars.get("os")),
        stack_pins=problems.read(_stack, r, hostvars.get("stack")),
        raw=hostvars,
    )
    problems.raise_any()
    return plan
