"""Exposure times as the window and ``photolab-cli hdr --times`` read and write them, and a bracket's order."""

from __future__ import annotations

import math

import pytest

from photolab.core.exposure_times import (FrameInfo, exposures, format_seconds, parse_seconds, parse_times,
                                          sort_by_exposure)


@pytest.mark.parametrize("text, seconds", [("1/250", 0.004), ("0.004", 0.004), (" 2 ", 2.0), ("1/0.5", 2.0)])
def test_seconds_as_a_fraction_or_a_decimal(text, seconds):
    assert parse_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "1/0", "0", "-1/60", "inf", "nan", "1/x"])
def test_anything_else_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_seconds(text)


def test_a_list_of_times_and_their_text():
    assert parse_times("1/250, 1/60 0.25") == pytest.approx((0.004, 1 / 60, 0.25))
    assert parse_times("  ") is None
    with pytest.raises(ValueError, match="positive"):
        parse_times("1/60 0")
    assert [format_seconds(t) for t in (0.004, 1 / 60, 0.3, 2.0)] == ["1/250", "1/60", "0.3", "2"]
    assert parse_times(" ".join(format_seconds(t) for t in (1 / 8000, 1 / 3, 30))) == pytest.approx((1 / 8000, 1 / 3, 30))


def test_brackets_sort_from_darkest_with_their_ev():
    frames = [FrameInfo("b", 1 / 60, 100, 8), FrameInfo("none", problem="no exposure time in its metadata"),
              FrameInfo("a", 1 / 250, 100, 8), FrameInfo("c", 1 / 15, 100, 8)]
    assert exposures(frames)[1] is None
    ordered, evs = sort_by_exposure(frames)
    assert [f.path for f in ordered] == ["a", "b", "c", "none"]
    assert evs[0] == 0 and evs[1] == pytest.approx(math.log2(250 / 60)) and evs[3] is None
