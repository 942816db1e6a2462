"""Property-based: no generated host variables or inventory gives a traceback, only results or InputError."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlrig.checks import plan_check_ids, run_checks
from dlrig.checks.registry import REGISTRY
from dlrig.cli import main
from dlrig.errors import InputError
from dlrig.output.document import host_entry
from dlrig.plan.parse import parse_host

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["two", "185", "-1", "1e3", "nan", "inf", "platinum", "80 PLUS Gold", "RTX 2070", "0x1f02", ""]
    ),
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
number = st.one_of(
    st.integers(-5, 2000), st.floats(-5, 2000, allow_nan=False), st.sampled_from(["two", "8", None])
)
model = st.sampled_from(
    [
        "GeForce RTX 2070",
        "RTX 2080",
        "NVIDIA H200",
        "Unknown GPU",
        "AMD Ryzen Threadripper 1900X",
        "Threadripper 3960X",
        "Mystery CPU",
        "",
        "B200",
    ]
) | st.text(max_size=10)
maybe = lambda s: st.one_of(s, junk)  # noqa: E731 - a tiny local combinator

gpu = st.fixed_dictionaries(
    {"model": maybe(model)},
    optional={
        "count": maybe(st.integers(-1, 9)),
        "watts": maybe(number),
        "vram_gb": maybe(number),
        "power_limit_w": maybe(number),
    },
)
hardware = st.fixed_dictionaries(
    {},
    optional={
        "cpu": maybe(
            st.fixed_dictionaries(
                {"model": maybe(model)}, optional={"watts": number, "pcie_lanes": number, "pcie_gen": number}
            )
        ),
        "motherboard": maybe(
            st.fixed_dictionaries(
                {
                    "gpu_slots": maybe(st.lists(st.sampled_from([1, 2, 4, 8, 16, 3, "x16"]), max_size=8)),
                    "watts": number,
                }
            )
        ),
        "memory": maybe(st.fixed_dictionaries({"gb": number, "watts": number})),
        "cooler": maybe(st.fixed_dictionaries({"watts": number})),
        "storage": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"interface": st.sampled_from(["nvme", "sata", "floppy"]), "watts": number},
                    optional={"pcie_lanes": number, "via_chipset": maybe(st.booleans())},
                ),
                max_size=3,
            )
        ),
        "other_pcie": maybe(
            st.lists(st.fixed_dictionaries({"pcie_lanes": number, "watts": number}), max_size=2)
        ),
        "gpus": maybe(st.lists(gpu, max_size=4)),
        "psu": maybe(
            st.fixed_dictionaries(
                {"watts": number},
                optional={
                    "efficiency": maybe(
                        st.sampled_from(
                            ["none", "white", "bronze", "silver", "gold", "platinum", "titanium", "diamond"]
                        )
                    )
                },
            )
        ),
    },
)
hostvars = st.fixed_dictionaries(
    {},
    optional={
        "hardware": maybe(hardware),
        "power": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "price_per_kwh": number,
                    "currency": maybe(st.text(max_size=4)),
                    "headroom_pct": number,
                    "mains_v": st.sampled_from([115, 230, 5]),
                },
            )
        ),
        "os": maybe(
            st.fixed_dictionaries(
                {
                    "distribution": st.sampled_from(["Ubuntu", "Debian", "Gentoo"]),
                    "release": st.sampled_from(["18.04", "20.04", "22.04", "24.04", "12", "99"]),
                }
            )
        ),
        "stack": maybe(
            st.dictionaries(
                st.sampled_from(["cuda", "torch", "python", "driver"]), maybe(scalars), max_size=2
            )
        ),
    },
)


@SETTINGS
@given(hostvars)
def test_plan_checks_return_results_or_raise_input_error(variables):
    try:
        plan = parse_host("prop", variables)
    except InputError as exc:
        assert str(exc).startswith("prop: ") and "\n" not in str(exc)
        return
    with REGISTRY.without("stack"):  # the plan checks alone: the resolver is tested apart
        results = run_checks(plan)
    for result in results:
        assert result.status in ("ok", "warn", "fail") and result.message
        _assert_verdict_follows_the_figures(result.id, result.status, result.figures)
    report = host_entry(plan, results)
    assert json.loads(json.dumps(report)) == report  # the report is always JSON-serialisable
    assert report["verdict"] == _worst([r.status for r in results])


def _worst(statuses):
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"


def _assert_verdict_follows_the_figures(check_id, status, f):
    """Each plan check's verdict is the one its own figures call for (a check that was skipped is ok)."""
    if f.get("skipped"):
        assert status == "ok"
    elif check_id == "psu_headroom":
        # fail exactly when the draw exceeds the rating; ok only with the headroom free.
        assert (status == "fail") == (f["max_draw_w"] > f["psu_w"])
        if status == "ok":
            assert f["free_w"] >= f["psu_w"] * f["headroom_pct"] / 100 - 0.05
    elif check_id == "pcie_lanes":
        assert (status == "fail") == (f["lanes_used"] > f["lanes_available"])
    elif check_id == "gpu_slots":
        assert (status == "fail") == (f["gpu_count"] > f["gpu_slots"])
        assert status != "warn"
    elif check_id == "energy":
        assert status == "ok" and f["monthly_cost"] >= 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), hostvars, min_size=1, max_size=3)
)
def test_generated_inventories_never_produce_a_traceback(host_map):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hosts.yml"
        path.write_text(yaml.safe_dump({"all": {"hosts": host_map}}, allow_unicode=True))
        out, err = io.StringIO(), io.StringIO()
        code = main(["-i", str(path), "--format", "json"], stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    assert "unexpected error" not in err.getvalue(), err.getvalue()
    if code == 2:
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1
    else:
        hosts = json.loads(out.getvalue())["hosts"]
        assert len(hosts) == len(host_map)
        # 1 exactly when a host fails (warnings pass without --strict), each verdict the worst of its checks.
        assert code == (1 if any(h["verdict"] == "fail" for h in hosts) else 0)
        for h in hosts:
            assert h["verdict"] == _worst([c["status"] for c in h["checks"]])


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_inventory_text_never_produces_a_traceback(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hosts.yml"
        path.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        code = main(["-i", str(path), "--format", "json"], stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue() and "unexpected error" not in err.getvalue(), err.getvalue()
    if code == 2:  # refused: one line on stderr, nothing on stdout
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1
    else:
        hosts = json.loads(out.getvalue())["hosts"]
        assert code == (1 if any(h["verdict"] == "fail" for h in hosts) else 0)


def test_run_checks_on_a_plain_plan_includes_every_plan_check():
    plan = parse_host("h", {"hardware": {}})
    assert [r.id for r in run_checks(plan)] == plan_check_ids()
