"""FinOps analytics on synthetic ledgers whose answers are known from how they were built.

Every expected number below comes from the construction (a constant rate, a fixed daily shape, one
injected spike), never from the code under test.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from maestro.finops.analytics import Forecast, anomalies, burndown, forecast

H = timedelta(hours=1)
START = datetime(2024, 3, 1, tzinfo=UTC)
PERIOD_HOURS = 30 * 24
END = START + PERIOD_HOURS * H

BASE = 0.5  # USD/h outside business hours
PEAK = 10.0  # USD/h from 09:00 to 17:59 UTC
BUSINESS = range(9, 18)
DAY_TOTAL = PEAK * len(BUSINESS) + BASE * (24 - len(BUSINESS))  # 97.5


def constant(rate: float, first: datetime, hours: int) -> list[tuple[datetime, float]]:
    return [(first + i * H, rate) for i in range(hours)]


def business_hours(first: datetime, days: int, *, noise: float = 0.0, seed: int = 7) -> list[tuple[datetime, float]]:
    """A workload busy 09-18 UTC; ``noise`` is a relative jitter drawn from a seeded generator."""
    rng = random.Random(seed)
    series = []
    for i in range(days * 24):
        ts = first + i * H
        rate = PEAK if ts.hour in BUSINESS else BASE
        series.append((ts, rate * (1 + rng.uniform(-noise, noise))))
    return series


def increment_at(result: Forecast, ts: datetime) -> float:
    """Expected spend during the hour starting at ``ts``, read off the cumulative points."""
    by_ts = {p.ts: p.expected for p in result.points}
    return by_ts[ts + H] - by_ts[ts]


@pytest.mark.parametrize("seasonal_min_days", [3, 1000])
def test_constant_burn_projects_closed_form_total_and_cap_hour(seasonal_min_days: int) -> None:
    now = START + 240 * H
    hourly = constant(2.0, START - 72 * H, 72 + 240)  # three days before the period are history only
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=1001.0, seasonal_min_days=seasonal_min_days)

    assert result.enough_history
    assert result.method == ("seasonal" if seasonal_min_days == 3 else "linear")
    assert result.spent == pytest.approx(2.0 * 240)
    assert result.burn_per_hour == pytest.approx(2.0)
    assert result.projected_total == pytest.approx(2.0 * PERIOD_HOURS)
    # 2·(k+1) ≥ 1001 first for k = 500: the cap is reached during the hour starting 500 h in.
    assert result.cap_hit_at == START + 500 * H
    assert [p.ts for p in result.points] == [now + i * H for i in range(PERIOD_HOURS - 240 + 1)]
    assert result.points[0].expected == pytest.approx(480.0)
    assert result.points[-1].expected == pytest.approx(2.0 * PERIOD_HOURS)
    # A perfectly steady burn has no spread: the band collapses onto the line.
    assert all(p.low == pytest.approx(p.expected) == pytest.approx(p.high) for p in result.points)


def test_noisy_burn_band_contains_the_line_and_widens() -> None:
    now = START + 48 * H
    hourly = [(START + i * H, 2.0 + (0.5 if i % 2 else -0.5)) for i in range(48)]
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None)

    assert result.method == "linear"  # two days: not enough for a daily shape
    assert result.cap_hit_at is None
    assert result.projected_total == pytest.approx(2.0 * PERIOD_HOURS, rel=0.02)
    widths = [p.high - p.low for p in result.points]
    assert widths[0] == 0.0
    assert widths[-1] > widths[len(widths) // 2] > widths[1] > 0
    assert all(p.low <= p.expected <= p.high for p in result.points)
    assert all(p.low >= result.spent for p in result.points[1:])


def test_business_hours_forecast_follows_the_daily_shape() -> None:
    now = START + 10 * 24 * H
    hourly = business_hours(START - 4 * 24 * H, 14, noise=0.05)
    spent = sum(v for ts, v in hourly if ts >= START)
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None)

    assert result.method == "seasonal"
    assert result.reason.startswith("seasonal")
    assert result.spent == pytest.approx(spent)
    assert result.projected_total == pytest.approx(spent + 20 * DAY_TOTAL, rel=0.03)
    day = now + 2 * 24 * H
    at_14 = increment_at(result, day.replace(hour=14))
    at_03 = increment_at(result, day.replace(hour=3))
    assert at_14 == pytest.approx(PEAK, rel=0.1)
    assert at_03 == pytest.approx(BASE, rel=0.1)
    assert at_14 > at_03


def test_business_hours_linear_projection_total_is_still_right() -> None:
    now = START + 10 * 24 * H
    hourly = business_hours(START - 4 * 24 * H, 14, noise=0.05)
    spent = sum(v for ts, v in hourly if ts >= START)
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None, seasonal_min_days=1000)

    assert result.method == "linear"
    assert result.burn_per_hour == pytest.approx(DAY_TOTAL / 24, rel=0.03)
    assert result.projected_total == pytest.approx(spent + 20 * DAY_TOTAL, rel=0.03)


def test_seasonal_needs_seasonal_min_days_of_history_even_beyond_a_week() -> None:
    now = START + 10 * 24 * H
    hourly = business_hours(now - 14 * 24 * H, 14)

    def method(seasonal_min_days: int) -> str:
        return forecast(hourly, period_start=START, period_end=END, now=now, cap=None, seasonal_min_days=seasonal_min_days).method

    assert method(10) == "seasonal"
    assert method(15) == "linear"


def test_cap_from_the_projection_lands_in_the_right_hour_of_a_business_day() -> None:
    now = START + 7 * 24 * H
    hourly = business_hours(START, 7)
    cap = 8 * DAY_TOTAL + PEAK * 3 + BASE * 9  # reached at the end of 11:00-12:00 on day 8
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=cap)

    assert result.method == "seasonal"
    assert result.cap_hit_at == START + 8 * 24 * H + 11 * H


def test_not_enough_history_says_how_much_is_missing() -> None:
    now = START + 10 * H
    hourly = constant(3.0, START, 10)
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None)

    assert result.method == "none"
    assert not result.enough_history
    assert result.reason == "not enough history: 10 hours of spend, at least 24 needed"
    assert result.spent == pytest.approx(30.0)
    assert result.burn_per_hour == 0.0
    assert result.points == []


def test_already_over_cap_reports_the_hour_it_was_crossed() -> None:
    now = START + 240 * H
    result = forecast(constant(2.0, START, 240), period_start=START, period_end=END, now=now, cap=100.0)

    assert result.spent == pytest.approx(480.0)
    assert result.cap_hit_at == START + 49 * H  # 2·50 = 100 at the end of hour 49
    assert result.projected_total > 100.0


def test_over_cap_without_enough_history_still_reports_the_crossing() -> None:
    now = START + 5 * H
    result = forecast(constant(30.0, START, 5), period_start=START, period_end=END, now=now, cap=50.0)

    assert result.method == "none"
    assert result.cap_hit_at == START + 1 * H


def test_empty_series() -> None:
    result = forecast([], period_start=START, period_end=END, now=START + 48 * H, cap=10.0)

    assert result.method == "none"
    assert result.reason == "not enough history: 0 hours of spend, at least 24 needed"
    assert result.spent == 0.0
    assert result.cap_hit_at is None
    assert anomalies([]) == []
    assert burndown([], period_start=START, now=START + 2 * H, cap=10.0) == [
        (START, 0.0, 10.0),
        (START + H, 0.0, 10.0),
        (START + 2 * H, 0.0, 10.0),
    ]


def test_missing_hours_count_as_zero_spend() -> None:
    # The ledger only has the even hours (4 USD each): the burn is 2 USD/h, not 4.
    now = START + 96 * H
    hourly = [(START + i * H, 4.0) for i in range(0, 96, 2)]
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None, seasonal_min_days=1000)

    assert result.burn_per_hour == pytest.approx(2.0, rel=0.02)
    assert result.projected_total == pytest.approx(2.0 * PERIOD_HOURS, rel=0.02)
    rows = burndown(hourly, period_start=START, now=START + 5 * H, cap=None)
    assert [(ts, cum) for ts, cum, _ in rows] == [(START + k * H, 4.0 * math.ceil(k / 2)) for k in range(6)]
    assert anomalies(hourly) == []


def test_gap_before_now_counts_towards_history() -> None:
    # Spend at the start and 30 hours later: 31 hours of history, even though 29 were free.
    hourly = [(START, 5.0), (START + 30 * H, 5.0)]
    result = forecast(hourly, period_start=START, period_end=END, now=START + 31 * H, cap=None)

    assert result.enough_history
    assert result.spent == pytest.approx(10.0)


def test_burndown_counts_from_period_start_and_joins_the_forecast() -> None:
    now = START + 30 * H
    hourly = constant(2.0, START - 24 * H, 54)
    rows = burndown(hourly, period_start=START, now=now, cap=100.0)

    assert rows == [(START + k * H, 2.0 * k, 100.0 - 2.0 * k) for k in range(31)]
    assert burndown(hourly, period_start=START, now=now, cap=None)[-1] == (now, 60.0, None)
    first = forecast(hourly, period_start=START, period_end=END, now=now, cap=100.0).points[0]
    assert (first.ts, first.expected) == rows[-1][:2]


def test_forecast_mid_hour_counts_the_partial_hour_as_spent() -> None:
    now = START + 48 * H + timedelta(minutes=30)
    hourly = constant(2.0, START, 49)  # the 49th hour is half over and already cost 2
    result = forecast(hourly, period_start=START, period_end=END, now=now, cap=None)

    assert result.spent == pytest.approx(98.0)
    assert result.points[0].ts == START + 48 * H
    assert result.points[0].expected == pytest.approx(96.0)
    assert result.points[1].expected == pytest.approx(98.0 + 1.0)  # the rest of the hour at 2 USD/h


def test_spike_at_night_is_found_and_the_daily_peak_is_not() -> None:
    hourly = business_hours(START, 5, noise=0.05)
    spike_ts = START + 2 * 24 * H + 3 * H
    hourly = [(ts, v * 10 if ts == spike_ts else v) for ts, v in hourly]
    found = anomalies(hourly)

    assert [(a.ts, a.direction) for a in found] == [(spike_ts, "spike")]
    assert found[0].value == pytest.approx(dict(hourly)[spike_ts])
    assert found[0].expected == pytest.approx(BASE, rel=0.05)
    assert found[0].score > 3.5


def test_spike_in_a_short_series_uses_the_plain_median() -> None:
    hourly = [(START + i * H, 1.0 + 0.01 * (i % 3)) for i in range(30)]
    hourly[17] = (hourly[17][0], 10.0)
    found = anomalies(hourly)

    assert [(a.ts, a.direction) for a in found] == [(START + 17 * H, "spike")]
    assert found[0].expected == pytest.approx(1.01)


def test_drops_only_when_asked() -> None:
    hourly = business_hours(START, 5, noise=0.05)
    outage = START + 3 * 24 * H + 14 * H
    hourly = [(ts, v) for ts, v in hourly if ts != outage]  # the ledger has nothing for that hour

    assert anomalies(hourly) == []
    found = anomalies(hourly, include_drops=True)
    assert [(a.ts, a.direction, a.value) for a in found] == [(outage, "drop", 0.0)]
    assert found[0].score < -3.5


@pytest.mark.parametrize("hours", [30, 5 * 24])
def test_flat_series_has_no_anomalies(hours: int) -> None:
    assert anomalies(constant(1.25, START, hours), include_drops=True) == []


def test_too_few_points_for_anomalies() -> None:
    hourly = [(START + i * H, 1.0) for i in range(20)] + [(START + 20 * H, 50.0)]
    assert anomalies(hourly) == []
    assert [a.ts for a in anomalies(hourly, min_points=10)] == [START + 20 * H]
