"""The one registry of checks, plan and live alike (docs: ENGINE notes in README "Layout").

A check is a function registered by a decorator in its own module of ``dlrig/checks/``; the modules of the
package are imported on first use, so adding a check is one new module (and its tests). Each check knows

- its ``id`` (unique per mode) and what it ``needs``: ``"plan"`` (the inventory's declaration only) or
  ``"detected"`` (the hardware facts of a live host too);
- in which ``modes`` it runs (``plan``, ``what_if``, ``live``): a plan check runs in ``plan`` and
  ``what_if`` (``live=True`` adds ``live``), a live check in ``live``;
- its ``order`` in the report (lower first);
- how to present its key figures: ``figures`` (the keys of its JSON entry a what-if comparison keeps),
  ``key_figures`` (the few words of a what-if column), ``details`` (text lines under its row: the power
  budget, the lane map; in the live report too, e.g. the measured power per GPU) and ``summary`` (keys
  of its figures copied into the host's ``summary``).

The report, the renderers, the what-if comparison and the live preflight read this registry and name no
check id.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from dlrig.result import CheckResult

if TYPE_CHECKING:
    from dlrig.plan.model import HostPlan
    from dlrig.upgrade.facts import DetectedHardware

Mode = Literal["plan", "what_if", "live"]
Needs = Literal["plan", "detected"]
MODES: tuple[Mode, ...] = ("plan", "what_if", "live")

#: ``key_figures(figures, currency) -> str``: a check's few words of figures in a what-if column.
KeyFigures = Callable[[Mapping[str, Any], "str | None"], str]
#: ``details(entry) -> lines``: text lines under a check's row in the plan report (entry: its JSON entry).
Details = Callable[[Mapping[str, Any]], list[str]]


@dataclass
class Context:
    """What a check gets: the host's plan and, in ``live`` mode, what detection found.

    ``results`` holds the checks that ran before this one (in order), for a check that judges the others.
    """

    plan: HostPlan
    mode: Mode = "plan"
    facts: Mapping[str, Any] | None = None
    detection_error: str | None = None
    unreachable: bool = False
    running_os: tuple[str, str] | None = None
    results: list[CheckResult] = field(default_factory=list)

    @cached_property
    def detected(self) -> DetectedHardware | None:
        """The facts parsed (:func:`dlrig.upgrade.facts.from_facts`); None when detection failed."""
        if self.facts is None or self.detection_error is not None:
            return None
        from dlrig.upgrade.facts import from_facts

        return from_facts(self.facts, self.plan.name)

    @cached_property
    def target_os(self) -> tuple[str, str] | None:
        """The OS release the host runs (its facts), else the one the inventory declares."""
        if self.running_os is not None:
            return self.running_os
        if self.plan.os is not None:
            return self.plan.os.distribution, self.plan.os.release
        return None

    @cached_property
    def driver_decision(self) -> Any:
        """The upgrade's driver decision for the detected driver (:func:`dlrig.upgrade.driver.decide_driver`),
        or None without facts; action ``resolved`` with the reason when it cannot be decided."""
        if self.detected is None:
            return None
        from dlrig.errors import InputError
        from dlrig.upgrade.driver import DriverDecision, allow_downgrade, decide_driver

        allow = allow_downgrade(self.plan)  # a consent that is not a boolean is bad input: it propagates
        distribution, release = self.target_os or (None, None)
        try:
            return decide_driver(self.plan, self.detected.driver_version, distribution, release, allow=allow)
        except InputError as exc:  # e.g. an OS release the resolver does not know: no decision, the reason
            return DriverDecision("resolved", None, str(exc))


@dataclass(frozen=True)
class Check:
    """One registered check."""

    id: str
    run: Callable[[Context], CheckResult | None]
    needs: Needs = "plan"
    modes: frozenset[str] = frozenset(("plan", "what_if"))
    order: int = 100
    figures: tuple[str, ...] = ()
    key_figures: KeyFigures | None = None
    details: Details | None = None
    summary: tuple[str, ...] = ()
    #: After every check ran: ``revise(own_result, results) -> results`` (e.g. move itself first).
    revise: Callable[[CheckResult, list[CheckResult]], list[CheckResult]] | None = None


class Registry:
    """Every check, per mode; the modules of ``dlrig.checks`` are imported on first use."""

    def __init__(self) -> None:
        self._checks: list[Check] = []
        self._discovered = False

    def add(self, check: Check) -> Check:
        for mode in check.modes:
            if mode not in MODES:
                raise ValueError(f"check {check.id}: unknown mode {mode!r}")
            if any(c.id == check.id and mode in c.modes for c in self._checks):
                raise ValueError(f"check {check.id}: registered twice for mode {mode}")
        self._checks.append(check)
        return check

    def discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module("dlrig.checks")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_") and info.name != "registry":
                importlib.import_module(f"dlrig.checks.{info.name}")

    def checks(self, mode: Mode) -> list[Check]:
        """The checks of ``mode`` in report order."""
        self.discover()
        return sorted((c for c in self._checks if mode in c.modes), key=lambda c: (c.order, c.id))

    def get(self, check_id: str, mode: Mode = "plan") -> Check | None:
        return next((c for c in self.checks(mode) if c.id == check_id), None)

    def describe(self, check_id: str) -> Check | None:
        """The check of that id in any mode (the plan's first): how to present an entry."""
        return self.get(check_id, "plan") or self.get(check_id, "live")

    def summary_keys(self) -> list[str]:
        """Every key a check copies into a host's summary."""
        return list(dict.fromkeys(k for mode in MODES for c in self.checks(mode) for k in c.summary))

    @contextmanager
    def added(self, *checks: Check) -> Iterator[None]:
        """Register ``checks`` for the duration (tests)."""
        self.discover()
        for check in checks:
            self.add(check)
        try:
            yield
        finally:
            for check in checks:
                self._checks.remove(check)

    @contextmanager
    def without(self, *ids: str) -> Iterator[None]:
        """Leave the checks of these ids out for the duration (tests: the plan checks without ``stack``)."""
        self.discover()
        saved = list(self._checks)
        self._checks = [c for c in self._checks if c.id not in ids]
        try:
            yield
        finally:
            self._checks = saved


REGISTRY = Registry()


def _register(check_id: str, run: Callable[[Context], CheckResult | None], needs: Needs, modes: set[str],
              **presentation: Any) -> None:
    REGISTRY.add(Check(check_id, run, needs=needs, modes=frozenset(modes), **presentation))


def plan_check(check_id: str, *, order: int = 100, live: bool = False, figures: tuple[str, ...] = (),
               key_figures: KeyFigures | None = None, details: Details | None = None,
               summary: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """Register ``fn(plan: HostPlan) -> CheckResult | None`` as a plan check (modes plan and what_if;
    ``live=True``: live too). Returns ``fn`` unchanged, so tests call it directly."""

    def wrap(fn: Callable[[HostPlan], CheckResult | None]) -> Callable[[HostPlan], CheckResult | None]:
        modes = {"plan", "what_if", *(("live",) if live else ())}
        _register(check_id, lambda ctx: fn(ctx.plan), "plan", modes, order=order, figures=figures,
                  key_figures=key_figures, details=details, summary=summary)
        return fn

    return wrap


def live_check(check_id: str, *, order: int = 100, needs: Needs = "detected", figures: tuple[str, ...] = (),
               key_figures: KeyFigures | None = None, details: Details | None = None,
               revise: Callable[[CheckResult, list[CheckResult]], list[CheckResult]] | None = None,
               ) -> Callable[[Any], Any]:
    """Register ``fn(ctx: Context) -> CheckResult | None`` as a live check (mode live). With
    ``needs="detected"`` (the default) it runs only when detection gave facts (``ctx.detected`` is set);
    None from ``fn``: nothing to say for this host (no entry). ``details``: text lines under the live
    report's check rows (as a plan check's)."""

    def wrap(fn: Callable[[Context], CheckResult | None]) -> Callable[[Context], CheckResult | None]:
        _register(check_id, fn, needs, {"live"}, order=order, figures=figures, key_figures=key_figures,
                  details=details, revise=revise)
        return fn

    return wrap


def run(ctx: Context) -> list[CheckResult]:
    """Every check of ``ctx.mode`` for one host, in order; a host without ``hardware`` gets no plan
    checks (in plan and what-if modes)."""
    if ctx.mode != "live" and ctx.plan.hardware is None:
        return []
    ran: list[tuple[Check, CheckResult]] = []
    for check in REGISTRY.checks(ctx.mode):
        if check.needs == "detected" and ctx.detected is None:
            continue
        ctx.results = [r for _, r in ran]
        result = check.run(ctx)
        if result is not None:
            ran.append((check, result))
    results = [r for _, r in ran]
    for check, result in ran:
        if check.revise is not None:
            results = check.revise(result, results)
    ctx.results = results
    return results
