"""Verdicts with their uncertainty: every verdict uses all seeds and an interval, and says ``inconclusive
at n seeds`` when the interval straddles the rule's threshold.

Two intervals, both at ``CONFIDENCE``:

* ``mean_interval``: a percentile bootstrap of the mean over seeds (``DRAWS`` resamples from a fixed
  generator, so a report is reproducible). The quantiles are taken without interpolation, on the outer
  side, so with few seeds the interval is the conservative one: with 3 seeds or fewer it is the seeds'
  whole range (the resample of the smallest value alone is at least 1/27 likely, above 2.5%), and a verdict
  is then decisive only when every seed is on the same side of the threshold.
* ``fraction_interval``: the exact (Clopper-Pearson) binomial interval of a solved fraction k of n.

A diverged seed (NaN or inf) counts as the worst value: +inf for a loss ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

CONFIDENCE = 0.95
DRAWS = 10_000
SEED = 0  # the bootstrap's own generator: the same tables give the same report


@dataclass(frozen=True)
class Interval:
    """An estimate over ``n`` seeds with its interval."""

    estimate: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 3) -> str:
        """'0.0123 (0.0101–0.0145, 2 seeds)'."""
        return f"{_g(self.estimate, digits)} ({_g(self.low, digits)}–{_g(self.high, digits)}, {self.n} seeds)"


def _g(x: float, digits: int) -> str:
    return "inf" if math.isinf(x) else ("–" if math.isnan(x) else f"{x:.{digits}g}")


def finite_or_worst(values: Sequence[float], worst: float = math.inf) -> np.ndarray:
    """``values`` with every NaN (a diverged run) replaced by ``worst``."""
    a = np.asarray(values, dtype=float)
    return np.where(np.isnan(a), worst, a)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE, draws: int = DRAWS) -> Interval:
    """The mean over seeds with its percentile-bootstrap interval (outer quantiles, no interpolation)."""
    a = finite_or_worst(values)
    if a.size == 0:
        raise ValueError("an interval needs at least one seed")
    rng = np.random.default_rng(SEED)
    with np.errstate(invalid="ignore"):  # inf values: their means are inf, never NaN
        means = a[rng.integers(0, a.size, size=(draws, a.size))].mean(axis=1)
    alpha = 1 - confidence
    low = _snap(float(np.quantile(means, alpha / 2, method="lower")), a)
    high = _snap(float(np.quantile(means, 1 - alpha / 2, method="higher")), a)
    return Interval(float(a.mean()), low, high, int(a.size))


def _snap(bound: float, values: np.ndarray) -> float:
    """``bound`` put back on a seed's value it differs from by float rounding only: the mean of a resample of
    three equal values 0.9 is 0.8999..., and a bound the seeds sit on must not cross a threshold they meet."""
    finite = values[np.isfinite(values)]
    if not math.isfinite(bound) or finite.size == 0:
        return bound
    nearest = float(finite[np.argmin(np.abs(finite - bound))])
    return nearest if abs(nearest - bound) <= 1e-12 * max(1.0, abs(nearest)) else bound


def fraction_interval(k: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The solved fraction k/n with its exact Clopper-Pearson interval."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"a fraction needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Interval(k / n, low, high, n)


def side(interval: Interval, threshold: float) -> str:
    """'below' or 'above' when the whole interval lies on that side of ``threshold`` ('above' includes it),
    else 'straddles'."""
    if interval.high < threshold:
        return "below"
    if interval.low >= threshold:
        return "above"
    return "straddles"


def inconclusive(n: int) -> str:
    return f"inconclusive at {n} seed{'s' if n != 1 else ''}"


def judged(holds: bool | None, n: int, yes: str = "agrees", no: str = "disagrees") -> str:
    """``yes`` / ``no`` for a decided rule, ``inconclusive at n seeds`` for an undecided one (None)."""
    return inconclusive(n) if holds is None else (yes if holds else no)
