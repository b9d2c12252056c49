"""Spend analytics for budgets and the cost explorer: forecasts, anomalies and burndown.

Pure functions (stdlib only, no I/O) so workflows can call them inside their sandbox and the API can
call them on a request without a round trip. Every input is an hourly spend series: ``(hour start,
USD spent in that hour)`` pairs, UTC-aware. Ledgers only write hours that had spend, so a missing
hour between the first and the last one is an hour that cost nothing; pairs falling in the same hour
are added up. Hours of day are UTC hours: a daily shape is learned per UTC hour.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)

# 1.96: two-sided 95% normal quantile for the forecast band.
_Z95 = 1.96
# The linear burn rate is fitted on at most a week: long enough to cover a weekend once, short
# enough that a change of workload shows up within days rather than being averaged over a month.
_LINEAR_WINDOW_HOURS = 7 * 24
# The seasonal profile uses at most a week of whole days for the same reason.
_SEASONAL_WINDOW_DAYS = 7
# Anomalies are scored against the hour-of-day baseline once every hour of day has 3 samples, so a
# median per hour of day exists that one odd day cannot move.
_SEASONAL_ANOMALY_HOURS = 3 * 24
# MAD → σ for normal data (0.6745 = Φ⁻¹(0.75)); mean absolute deviation → σ is √(π/2).
_MAD_FACTOR = 0.6745
_MEAN_AD_FACTOR = 1.253314
# Below this a deviation is floating-point noise, not spend (a hundredth of a micro-dollar).
_EPSILON = 1e-8
# The score given when the series has no spread at all but one value differs: finite so it
# serialises as JSON and sorts, far beyond any sensible threshold.
_DEGENERATE_SCORE = 1e9
# Seasonal residuals are relative to the hour's median, but never to less than this share of the
# average hourly median (see ``anomalies``).
_WEIGHT_FLOOR = 0.1


@dataclass(frozen=True)
class ForecastPoint:
    ts: datetime  # hour start
    expected: float  # expected CUMULATIVE spend since period_start at ts
    low: float  # lower band (cumulative)
    high: float  # upper band (cumulative)


@dataclass(frozen=True)
class Forecast:
    method: str  # "linear" | "seasonal" | "none"
    enough_history: bool
    reason: str  # human sentence saying how the forecast was made, or why there is none
    burn_per_hour: float  # recent burn rate USD/h used for the projection (0 when none)
    spent: float  # actual cumulative spend from period_start to now
    projected_total: float  # expected cumulative spend at period_end (== spent when no forecast)
    cap_hit_at: datetime | None  # start of the hour in which the cumulative reaches the cap
    points: list[ForecastPoint]  # from now (rounded down to hour) to period_end, hourly


@dataclass(frozen=True)
class Anomaly:
    ts: datetime  # hour start
    value: float  # actual spend in that hour
    expected: float  # baseline (median / seasonal)
    score: float  # robust z-score; positive above the baseline
    direction: str  # "spike" | "drop"


@dataclass(frozen=True)
class _Model:
    """A fitted hourly spend rate: ``level × shape[hour of day]`` USD/h, with its uncertainty.

    ``sigma`` is the spread of one hour's spend around the model; ``level_se`` the standard error of
    the level itself. The first grows the band with √h (independent hours), the second with h
    (a wrong level is wrong for every future hour).
    """

    method: str
    level: float
    shape: tuple[float, ...]
    sigma: float
    level_se: float
    reason: str

    def rate(self, ts: datetime) -> float:
        return max(0.0, self.level * self.shape[ts.hour])

    def half_band(self, hours_ahead: float) -> float:
        variance = hours_ahead * self.sigma**2 + (hours_ahead * self.level_se) ** 2
        return _Z95 * math.sqrt(variance)


def floor_hour(ts: datetime) -> datetime:
    """The UTC start of the hour containing ``ts``."""
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _by_hour(hourly: Iterable[tuple[datetime, float]]) -> dict[datetime, float]:
    """Spend per UTC hour start; several entries in one hour are added up."""
    spend: dict[datetime, float] = {}
    for ts, value in hourly:
        hour = floor_hour(ts)
        spend[hour] = spend.get(hour, 0.0) + float(value)
    return spend


def _dense(spend: dict[datetime, float], start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Every hour in ``[start, end)``, 0 where the ledger has nothing."""
    out: list[tuple[datetime, float]] = []
    ts = start
    while ts < end:
        out.append((ts, spend.get(ts, 0.0)))
        ts += HOUR
    return out


def _hours_between(start: datetime, end: datetime) -> int:
    """Whole hours from ``start`` to ``end`` (0 when end is not after start)."""
    return max(0, int((end - start) // HOUR))


def _first_cap_hour(increments: Iterable[tuple[datetime, float]], start_cum: float, cap: float) -> datetime | None:
    """Start of the first hour whose spend takes the cumulative to ``cap`` or beyond."""
    cumulative = start_cum
    for ts, inc in increments:
        cumulative += inc
        if inc > 0 and cumulative >= cap:
            return ts
    return None


def _least_squares(values: Sequence[float]) -> tuple[float, float]:
    """Intercept and slope of the least-squares line through ``(i, values[i])``."""
    n = len(values)
    if n < 2:
        return (values[0] if values else 0.0), 0.0
    t_mean = (n - 1) / 2
    v_mean = statistics.fmean(values)
    sxx = sum((i - t_mean) ** 2 for i in range(n))
    sxy = sum((i - t_mean) * (v - v_mean) for i, v in enumerate(values))
    slope = sxy / sxx
    return v_mean - slope * t_mean, slope


def _fit_linear(history: Sequence[float]) -> _Model:
    """Constant burn rate: the least-squares slope of the cumulative spend over the last week.

    Fitting the cumulative curve (rather than extrapolating a trend line through the hourly values)
    is deliberate: with under three days of history a daily cycle and a trend cannot be told apart,
    and a trend line's end point swings with where in the day the history stops. The slope of the
    cumulative curve is the average burn, nearly unaffected by the daily cycle, and a straight
    cumulative line is what "at this rate" means to the reader. The band uses the hourly spread
    around that rate, and the rate's own uncertainty as that of a mean of the window's hours.
    """
    window = list(history[-_LINEAR_WINDOW_HOURS:])
    cumulative: list[float] = []
    running = 0.0
    for value in window:
        running += value
        cumulative.append(running)
    _, burn = _least_squares(cumulative)
    burn = max(0.0, burn)
    sigma = statistics.stdev([v - burn for v in window]) if len(window) > 1 else 0.0
    level_se = sigma / math.sqrt(len(window)) if window else 0.0
    reason = f"linear: least-squares burn of {burn:.2f} USD/h over the last {len(window)} hours, held to the period end"
    return _Model("linear", burn, (1.0,) * 24, sigma, level_se, reason)


def _fit_seasonal(history: Sequence[tuple[datetime, float]], days: int) -> _Model | None:
    """Hour-of-day profile (median per UTC hour) scaled by the trend-aware recent level.

    The window is whole days ending now, so every hour of day is sampled equally. The profile's
    deviation from its mean is subtracted before fitting the trend line, so the daily cycle does not
    masquerade as a trend; the line's value at now is the level, and each future hour gets
    ``level × median(hour) / mean(medians)``: a day's total follows the level, its shape the profile.
    None when the profile is all zero (sparse spend with no daily shape): the linear fit applies.
    """
    window = list(history[-days * 24 :])
    per_hour: list[list[float]] = [[] for _ in range(24)]
    for ts, value in window:
        per_hour[ts.hour].append(value)
    medians = [statistics.median(values) for values in per_hour]
    profile_mean = statistics.fmean(medians)
    if profile_mean <= 0:
        return None
    deseasonalised = [value - (medians[ts.hour] - profile_mean) for ts, value in window]
    intercept, slope = _least_squares(deseasonalised)
    n = len(deseasonalised)
    level = max(0.0, intercept + slope * n)
    residuals = [v - (intercept + slope * i) for i, v in enumerate(deseasonalised)]
    sigma = math.sqrt(sum(r * r for r in residuals) / (n - 2)) if n > 2 else 0.0
    t_mean = (n - 1) / 2
    sxx = sum((i - t_mean) ** 2 for i in range(n))
    level_se = sigma * math.sqrt(1 / n + (n - t_mean) ** 2 / sxx) if sxx > 0 else sigma
    shape = tuple(m / profile_mean for m in medians)
    reason = f"seasonal: hour-of-day profile over the last {days} days, scaled to a level of {level:.2f} USD/h"
    return _Model("seasonal", level, shape, sigma, level_se, reason)


def _not_enough(spent: float, hours: int, min_hours: int, cap_hit_at: datetime | None) -> Forecast:
    reason = f"not enough history: {hours} hours of spend, at least {min_hours} needed"
    return Forecast("none", False, reason, 0.0, spent, spent, cap_hit_at, [])


def forecast(
    hourly: Iterable[tuple[datetime, float]],
    *,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    cap: float | None,
    min_hours: int = 24,
    seasonal_min_days: int = 3,
) -> Forecast:
    """Expected cumulative spend from now to the end of the period, with a 95% band.

    History counts from the first hour with spend (hours before it are unknown, not free) up to
    ``now``; only whole hours are fitted, and history before ``period_start`` is used for the fit
    while ``spent`` counts from ``period_start``. With at least ``seasonal_min_days`` whole days the
    projection follows the hour-of-day profile (``_fit_seasonal``); otherwise it holds the average
    burn (``_fit_linear``). Band: ±1.96·√(h·σ² + h²·se²) after h projected hours, σ the hourly
    spread around the model and se the level's standard error (independent hourly noise adds up as
    √h, a wrong level as h); the low side never goes below what is already spent.

    ``cap_hit_at`` is the start of the hour in which the cumulative reaches ``cap``: from the
    actuals when the cap is already reached, from the projection otherwise.
    """
    spend = _by_hour(hourly)
    now_hour = floor_hour(now)
    start = floor_hour(period_start)
    spent_until = min(now, period_end)
    actual = [(ts, v) for ts, v in sorted(spend.items()) if start <= ts < spent_until]
    spent = sum(v for _, v in actual)
    actual_cap_hit = _first_cap_hour(actual, 0.0, cap) if cap is not None else None

    first_spend = min((ts for ts, v in spend.items() if v > 0 and ts < now), default=None)
    hours = _hours_between(first_spend, now_hour) if first_spend is not None else 0
    if hours < min_hours or hours == 0 or first_spend is None:
        return _not_enough(spent, hours, min_hours, actual_cap_hit)

    # Only the last week is fitted: a caller passing months of history costs no more than a week.
    history = _dense(spend, max(first_spend, now_hour - _LINEAR_WINDOW_HOURS * HOUR), now_hour)
    full_days = hours // 24
    seasonal = full_days >= max(1, seasonal_min_days)
    model = _fit_seasonal(history, min(full_days, _SEASONAL_WINDOW_DAYS)) if seasonal else None
    if model is None:
        model = _fit_linear([v for _, v in history])

    points, projected_total, projected_cap_hit = _project(model, spend, start, period_end, now, spent, cap)
    cap_hit_at = actual_cap_hit if actual_cap_hit is not None else projected_cap_hit
    return Forecast(model.method, True, model.reason, model.level, spent, projected_total, cap_hit_at, points)


def _project(
    model: _Model,
    spend: dict[datetime, float],
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    spent: float,
    cap: float | None,
) -> tuple[list[ForecastPoint], float, datetime | None]:
    """Walk hour by hour from now to the period end: points, projected total, projected cap hour.

    The first point is the actual cumulative at the current hour's start (so it joins the
    burndown's last point); the current hour then gets its actual spend so far plus the model's
    rate for the part of the hour still to come.
    """
    begin = max(now, period_start)
    hour = floor_hour(begin)
    partial = spend.get(hour, 0.0) if period_start <= hour < min(now, period_end) else 0.0
    cumulative = spent - partial
    points: list[ForecastPoint] = []
    if hour <= period_end:
        points.append(ForecastPoint(hour, cumulative, cumulative, cumulative))
    cap_hit: datetime | None = None
    hours_ahead = 0.0
    while hour < period_end:
        covered_from = max(hour, begin)
        covered_to = min(hour + HOUR, period_end)
        fraction = max(0.0, (covered_to - covered_from) / HOUR)
        increment = model.rate(hour) * fraction + partial
        partial = 0.0  # only the hour in progress has actual spend on top of the projection
        before = cumulative
        cumulative += increment
        hours_ahead += fraction
        if cap is not None and cap_hit is None and increment > 0 and before < cap <= cumulative:
            cap_hit = hour
        hour += HOUR
        if hour <= period_end:
            half = model.half_band(hours_ahead)
            points.append(ForecastPoint(hour, cumulative, max(spent, cumulative - half), cumulative + half))
    return points, cumulative, cap_hit


def burndown(
    hourly: Iterable[tuple[datetime, float]],
    *,
    period_start: datetime,
    now: datetime,
    cap: float | None,
) -> list[tuple[datetime, float, float | None]]:
    """Actual cumulative spend at every hour start from period_start to now, and the cap left.

    Each entry is ``(ts, spend in [period_start, ts), cap - that or None)``: the same "cumulative at
    this instant" as ``ForecastPoint``, so the burndown's last entry and the forecast's first point
    are the same point and a chart joins them without a step. The hour in progress shows up once it
    has ended.
    """
    spend = _by_hour(hourly)
    start = floor_hour(period_start)
    out: list[tuple[datetime, float, float | None]] = []
    cumulative = 0.0
    ts = start
    while ts <= now:
        out.append((ts, cumulative, None if cap is None else cap - cumulative))
        cumulative += spend.get(ts, 0.0)
        ts += HOUR
    return out


def _robust_scores(deviations: Sequence[float], sample: Sequence[float]) -> list[float]:
    """Robust z-scores of ``deviations``, centred and scaled by ``sample`` (their unbiased part).

    Scale: MAD/0.6745; when more than half the sample is equal (MAD 0), the mean absolute deviation
    × 1.253314; when that is 0 too, any deviation beyond ``_EPSILON`` gets a huge score of its sign.
    Deviations under ``_EPSILON`` never score, so float noise on a flat series is never an anomaly.
    """
    if not sample:
        return [0.0] * len(deviations)
    center = statistics.median(sample)
    absolute = [abs(d - center) for d in sample]
    mad = statistics.median(absolute)
    scale = mad / _MAD_FACTOR if mad > _EPSILON else _MEAN_AD_FACTOR * statistics.fmean(absolute)
    scores: list[float] = []
    for d in deviations:
        centred = d - center
        if abs(centred) <= _EPSILON:
            scores.append(0.0)
        elif scale > _EPSILON:
            scores.append(centred / scale)
        else:
            scores.append(math.copysign(_DEGENERATE_SCORE, centred))
    return scores


def _seasonal_residuals(series: Sequence[tuple[datetime, float]]) -> tuple[list[float], list[float], list[float]]:
    """Hour-of-day baselines, each hour's residual from its baseline, and the sample to take the spread from.

    Residuals are relative to the hour's median (at least ``_WEIGHT_FLOOR`` of the average hourly
    median, so near-free hours are not divided by ~0). The spread is measured on each hour against
    the median of the *other* days at that hour: against a median that includes it, an hour's own
    value pulls its residual towards 0 (one per hour of day is exactly 0 with an odd number of days),
    the MAD shrinks by a third or more and ordinary wobble would score as an anomaly.
    """
    per_hour: list[list[int]] = [[] for _ in range(24)]
    for i, (ts, _) in enumerate(series):
        per_hour[ts.hour].append(i)
    medians = [statistics.median(series[i][1] for i in indices) for indices in per_hour]
    floor = _WEIGHT_FLOOR * statistics.fmean(medians)

    def relative(value: float, baseline: float) -> float:
        weight = max(baseline, floor)
        return (value - baseline) / (weight if weight > _EPSILON else 1.0)

    baselines = [medians[ts.hour] for ts, _ in series]
    residuals = [relative(value, baseline) for (_, value), baseline in zip(series, baselines, strict=True)]
    sample: list[float] = []
    for indices in per_hour:
        for i in indices:
            others = statistics.median(series[j][1] for j in indices if j != i)
            sample.append(relative(series[i][1], others))
    return baselines, residuals, sample


def anomalies(
    hourly: Iterable[tuple[datetime, float]],
    *,
    threshold: float = 3.5,
    min_points: int = 24,
    include_drops: bool = False,
) -> list[Anomaly]:
    """Hours whose spend is far from what that hour usually costs, sorted by time.

    Under three days the baseline is the series' median and the score the classic robust z-score.
    From three days on the baseline is the median of the same UTC hour of day, so a workload's
    regular business-hours peak is expected and a 03:00 spike is not. The seasonal residual is
    relative to the hour's median: spend noise grows with spend (more instances, more variation), so
    raw residuals of a 10 USD/h peak hour would dwarf those of a 0.50 USD/h night hour and its
    ordinary wobble would be flagged (see ``_seasonal_residuals``).
    """
    spend = _by_hour(hourly)
    if not spend:
        return []
    hours = sorted(spend)
    series = _dense(spend, hours[0], hours[-1] + HOUR)
    if len(series) < min_points:
        return []
    if len(series) >= _SEASONAL_ANOMALY_HOURS:
        baselines, residuals, sample = _seasonal_residuals(series)
    else:
        median = statistics.median(v for _, v in series)
        baselines = [median] * len(series)
        residuals = sample = [v - median for _, v in series]
    scores = _robust_scores(residuals, sample)
    found: list[Anomaly] = []
    for (ts, value), baseline, score in zip(series, baselines, scores, strict=True):
        if score > threshold:
            found.append(Anomaly(ts, value, baseline, score, "spike"))
        elif include_drops and score < -threshold:
            found.append(Anomaly(ts, value, baseline, score, "drop"))
    return found
