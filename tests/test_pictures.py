"""Pictures drawn from a run's numbers (report/pictures.py): a strip plot per numeric check over
seeds and per recorded per-seed list, and a stated reason where a claim has no picture."""

import re

from optclaims_report.pictures import claim_pictures, strip_plot, why_no_picture


def seed_check(values, op=">", bound=1.0, value=None, interval=(2.0, 3.0)):
    return {"name": "ratio", "op": op, "bound": bound, "test": "test_a", "status": "held",
            "value": sum(values) / len(values) if value is None else value,
            "seeds": {"statistic": "mean", "n": len(values), "values": values,
                      "seeds": list(range(len(values))), "interval": list(interval)}}


def dots(svg) -> int:
    return len(re.findall(r"M[\d.]+ [\d.]+h0", str(svg)))


def red_lines(svg) -> int:
    return str(svg).count('stroke="#cf222e"')


def test_a_strip_has_one_dot_per_seed_the_bound_and_the_statistic_in_its_interval():
    svg = strip_plot(seed_check([2.0, 2.5, 3.0, 4.0]))
    assert dots(svg) == 4 and red_lines(svg) == 1
    assert 'stroke="#0969da"' in str(svg) and 'fill="#ddf4ff"' in str(svg)
    assert "<title>ratio: 4 seeds, mean 2.875 [2, 3], bound &gt; 1</title>" in str(svg)


def test_a_range_bound_draws_both_ends():
    assert red_lines(strip_plot(seed_check([0.9, 1.0, 1.1], op="in", bound=[0.8, 1.2]))) == 2


def test_values_spanning_fifty_times_or_more_get_a_log_axis():
    assert "(log)" in str(strip_plot(seed_check([1e-6, 1e-3, 1.0], bound=1e-2)))
    assert "(log)" not in str(strip_plot(seed_check([1.0, 2.0, 3.0])))
    assert "(log)" not in str(strip_plot(seed_check([-1.0, 2.0, 300.0])))


def test_the_dots_fall_in_the_order_of_the_values():
    svg = str(strip_plot(seed_check([1.0, 5.0, 3.0], interval=(2.0, 4.0))))
    xs = [float(x) for x in re.findall(r"M([\d.]+) [\d.]+h0", svg)]
    assert xs[0] < xs[2] < xs[1]


def test_booleans_and_fewer_than_three_values_draw_nothing():
    assert strip_plot(seed_check([True, False, True], value=0.67)) is None
    assert strip_plot(seed_check([1.0, 2.0])) is None
    assert strip_plot(seed_check([1.0, float("nan"), 2.0])) is None


def test_a_claims_pictures_are_its_seed_checks_then_its_per_seed_records():
    claim = {"checks": [seed_check([1.0, 2.0, 3.0]), {"name": "one number", "value": 2.0}],
             "records": [{"name": "loss per seed", "value": [0.1, 0.2, 0.3], "test": "t"},
                         {"name": "loss per step", "value": [0.1, 0.2, 0.3], "test": "t"}]}
    pictures = claim_pictures(claim)
    assert [(p["check"], p["status"], p["n"]) for p in pictures] == [
        ("ratio", "held", 3), ("loss per seed", "recorded", 3)]


def test_a_claim_without_a_picture_says_why():
    ran = [{"outcome": "passed"}]
    assert "one check compares one number" in why_no_picture(
        {"tests": ran, "checks": [{"name": "x"}]})
    assert "count seeds" in why_no_picture(
        {"tests": ran, "checks": [seed_check([True, True, True], value=1.0)]})
    assert "none of its tests ran" in why_no_picture({"tests": [{"outcome": "skipped"}],
                                                      "checks": []})
    later = [{"outcome": "skipped", "skip_kind": "tier", "tier": "slow"}, {"outcome": "passed"}]
    assert "1 of its tests run in the slow tier" in why_no_picture(
        {"tests": later, "checks": [{"name": "x"}]})


def test_a_figure_is_kept_as_a_palette_png_smaller_than_matplotlibs_and_the_same_size():
    import base64
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from optclaims_report.evidence import Evidence
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    for k in range(8):
        ax.plot(range(50), [(i * (k + 1)) % 17 for i in range(50)])
    plain = io.BytesIO()
    fig.savefig(plain, format="png", dpi=110, bbox_inches="tight")
    sink = []
    Evidence(sink).figure("lines", fig)
    png = base64.b64decode(next(v for k, v in sink if k.endswith("figure"))["png"])
    kept, original = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(plain.getvalue()))
    assert kept.mode == "P" and kept.size == original.size
    assert len(png) < 0.6 * len(plain.getvalue())
