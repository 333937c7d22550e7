"""The SVG charts: well-formed, scaled to their data, labelled and escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from console.charts import (
    BOTTOM,
    HEIGHT,
    MAX_X_LABELS,
    TOP,
    bar_chart,
    line_chart,
    nice_ticks,
    ranked_bars,
)

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def attr(element: ET.Element, name: str) -> str:
    value = element.get(name)
    assert value is not None, f"<{element.tag}> has no {name}"
    return value


def text(element: ET.Element, path: str) -> str:
    """The text of the first ``path`` (e.g. ``s:title``) under ``element``."""
    found = element.find(path, NS)
    assert found is not None and found.text is not None, f"no text at {path}"
    return found.text


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0.0, 1.0]),
        (4, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (95, [0, 25, 50, 75, 100]),
        (1234, [0, 500, 1000, 1500]),
        (0.3, [0, 0.1, 0.2, 0.3]),
    ],
)
def test_ticks_are_round_and_cover_the_maximum(maximum: float, ticks: list[float]) -> None:
    assert nice_ticks(maximum) == ticks


def test_line_chart_draws_one_line_per_series_with_a_point_per_label() -> None:
    labels = [f"{h:02d}:00" for h in range(24)]
    series = {"sms in": [h for h in range(24)], "sms out": [2 * h for h in range(24)]}
    root = parse(line_chart("Traffic", labels, series))
    lines = root.findall("s:polyline", NS)
    assert len(lines) == 2
    assert all(len(attr(line, "points").split()) == 24 for line in lines)
    assert text(root, "s:title") == "Traffic"
    legend = [t.text for t in root.findall("s:text", NS) if t.get("class") == "legend"]
    assert legend == ["sms in", "sms out"]


def test_line_chart_scales_the_peak_to_the_top_tick() -> None:
    root = parse(line_chart("t", ["a", "b"], {"x": [0, 40]}))  # ticks 0..40
    polyline = root.find("s:polyline", NS)
    assert polyline is not None
    points = attr(polyline, "points").split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] == pytest.approx(HEIGHT - BOTTOM)
    assert ys[1] == pytest.approx(TOP)


def test_x_labels_are_thinned_to_fit() -> None:
    labels = [f"L{i}" for i in range(24)]
    root = parse(line_chart("t", labels, {"x": [1] * 24}))
    shown = [t.text for t in root.findall("s:text", NS) if t.text in labels]
    assert shown == ["L0", "L3", "L6", "L9", "L12", "L15", "L18", "L21"]
    assert len(shown) <= MAX_X_LABELS


def test_stacked_bars_add_up_and_carry_tooltips() -> None:
    root = parse(bar_chart("Answers", ["mon", "tue"], {"a": [3, 1], "b": [1, 3]}))
    bars = root.findall("s:rect[@class='bar']", NS)
    assert len(bars) == 4
    first_column = [b for b in bars if text(b, "s:title").endswith(("mon: 3", "mon: 1"))]
    assert sum(float(attr(b, "height")) for b in first_column) == pytest.approx(
        HEIGHT - TOP - BOTTOM
    )
    assert text(bars[0], "s:title") == "a mon: 3"


def test_side_by_side_bars_do_not_overlap() -> None:
    root = parse(bar_chart("t", ["x"], {"a": [1], "b": [2]}, stacked=False))
    a, b = root.findall("s:rect[@class='bar']", NS)
    assert float(attr(a, "x")) + float(attr(a, "width")) <= float(attr(b, "x")) + 1e-6


def test_labels_and_titles_are_escaped() -> None:
    svg = line_chart('<script>alert("x")</script>', ["<b>"], {"a&b": [1]})
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)  # still well-formed XML
    assert text(root, "s:title") == '<script>alert("x")</script>'


def test_series_must_match_the_labels() -> None:
    with pytest.raises(ValueError, match="series 'a' has 1 values for 2 labels"):
        line_chart("t", ["x", "y"], {"a": [1]})


def test_empty_data_still_draws_a_valid_chart() -> None:
    parse(line_chart("t", [], {}))
    parse(bar_chart("t", ["a"], {"x": [0]}))
    root = parse(ranked_bars("t", []))
    assert "nothing in this period" in "".join(root.itertext())


def test_ranked_bars_put_the_largest_first_and_keep_the_top_few() -> None:
    rows = [(f"reason {i}", i) for i in range(12)]
    root = parse(ranked_bars("Failures", rows, limit=3))
    bars = root.findall("s:rect[@class='bar']", NS)
    assert [text(b, "s:title") for b in bars] == [
        "reason 11: 11",
        "reason 10: 10",
        "reason 9: 9",
    ]
    widths = [float(attr(b, "width")) for b in bars]
    assert widths == sorted(widths, reverse=True)


def test_two_line_time_labels_write_the_date_only_where_it_changes() -> None:
    labels = [f"{h:02d}:00\nThu 26 Nov" for h in range(20, 24)] + ["00:00\nFri 27 Nov"]
    root = parse(bar_chart("t", labels, {"x": [1] * 5}))
    lines = [
        ["".join(s.itertext()) for s in t.findall("s:tspan", NS)]
        for t in root.findall("s:text", NS)
    ]
    dated = [line for line in lines if len(line) == 2]
    assert [line[1] for line in dated] == ["Thu 26 Nov", "Fri 27 Nov"]
    assert ["21:00"] in [[("".join(t.itertext()))] for t in root.findall("s:text", NS)]


def test_axes_carry_their_unit_and_title() -> None:
    svg = line_chart("t", ["a"], {"x": [1]}, y_unit="messages per hour", x_title="hour in UTC")
    titles = [t.text for t in parse(svg).findall("s:text[@class='axis-title']", NS)]
    assert titles == ["messages per hour", "hour in UTC"]
    assert "3 SMS" in "".join(parse(ranked_bars("t", [("r", 3)], unit="SMS")).itertext())
