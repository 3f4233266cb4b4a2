"""One error estimator for every time-marching solver: a companion run with a step that really differs.

Used by the Fourier/ETDRK4 driver (`_spectral`), Kolmogorov flow and Rayleigh-Taylor. Each solver
marches its main run with steps h, and a companion run on the same grid with steps ``ratio * h``:

* ``ratio > 1`` (a coarser companion: 2 for the 1-D/2-D ETDRK4 benchmarks, 1.5 where a doubled step
  would cross the stability limit): the stored time estimate is the difference itself,
  ``|q(h) - q(ratio h)|``. It bounds the main run's error whenever the longer step at least doubles
  the error (|e(ratio h)| >= 2 |e(h)| gives |q(h) - q(ratio h)| >= |e(ratio h)| - |e(h)| >= |e(h)|);
  in the asymptotic regime of an order-p scheme it overestimates by ratio^p - 1 (15 for ETDRK4 with
  ratio 2, 4.06 with ratio 1.5; 2.4 for SBDF3 with 1.5). The Richardson value
  ``|q(h) - q(ratio h)| / (ratio^p - 1)`` is stored beside it for information only: outside the
  asymptotic regime (a coarse dt) it can be optimistic by orders of magnitude.
* ``ratio < 1`` (a finer companion, used when the main run takes a single step per output interval,
  so that no longer step lands on the outputs): the estimate is ``|q(h) - q(ratio h)| / (1 - ratio)``.
  For ratio 1/2 that is twice the difference, a bound whenever halving the step at least halves the
  error (|e(h)| <= |q(h) - q(h/2)| + |e(h/2)| <= diff + |e(h)|/2).

Both runs carry their own float64 round-off, amplified by the flow (10^7-fold in chaotic
Kuramoto-Sivashinsky), so the difference of two runs also measures that round-off floor, which a
Richardson factor would divide away. The spatial part is a second companion on a coarser grid
(`coarser_grid`, 3/4 of the modes per axis, same steps): ``|q(n) - q(3n/4)|`` is essentially the coarse
run's error, an upper bound for the main run's when the convergence in n is spectral; the spectral tail
indicator (the relative size of the outermost kept modes) is kept beside it and the larger of the two is
used: the indicator is instantaneous and misses the amplification of early truncation errors (Ginzburg-
Landau's unstable A = 0, turbulent Kolmogorov flow), which the companion carries. ``total = space + time``. All figures are relative L2 over the whole output grid, per field
(the project's error metric, docs/design.md section 5).
"""

from __future__ import annotations

import math

import numpy as np


SPACE_FACTOR = 0.75  # the space companion's grid, relative to the main run's


def coarser_grid(n: int, factor: float = SPACE_FACTOR, even: bool = True) -> int:
    """round(n * factor), rounded up to even when `even` (the space companion's resolution)."""
    m = int(round(n * factor))
    return m + (m % 2) if even else m


def companion_steps(n_sub: int) -> tuple:
    """Steps per output interval of the time companion of a run with `n_sub` steps, and the step ratio.

    Returns (m, ratio) with ratio = n_sub / m = companion step / main step: m = ceil(n_sub / 2) when
    n_sub >= 2 (ratio 2 for even n_sub, between 1.5 and 2 for odd), m = 2 when n_sub = 1 (ratio 1/2:
    the main step already spans a whole output interval, so the companion is a refinement).
    """
    n_sub = int(n_sub)
    if n_sub < 1:
        raise ValueError(f"steps per output interval must be >= 1, got {n_sub}")
    m = 2 if n_sub == 1 else -(-n_sub // 2)
    return m, n_sub / m


def relative_differences(main, other, names) -> dict:
    """Per-field relative L2 difference of two trajectories over the whole output grid.

    Args:
        main, other: arrays (or sequences of snapshots) of shape (nt, n_fields, ...), field axis second;
            summed one snapshot at a time (no full-size temporaries).
        names: the field names, one per entry of axis 1.
    Returns:
        {name: ||main - other|| / ||main||}.
    """
    num = np.zeros(len(names))
    den = np.zeros(len(names))
    for a, b in zip(main, other):
        a = np.asarray(a, float).reshape(len(names), -1)
        b = np.asarray(b, float).reshape(len(names), -1)
        num += np.sum((a - b) ** 2, axis=1)
        den += np.sum(a * a, axis=1)
    return {f: float(math.sqrt(n / d)) if d > 0 else float(math.sqrt(n)) for f, n, d in zip(names, num, den)}


def time_estimate(differences: dict, ratio: float, order: int, headline=None) -> dict:
    """The time part of the estimate from the companion's per-field `differences` (see the module docstring).

    Args:
        differences: {field: relative L2 of q(h) - q(ratio h)}.
        ratio: companion step / main step (> 1 coarser, < 1 finer; not 1).
        order: the scheme's order p (for the Richardson figure stored for information).
        headline: the field whose value is "time" (default: the largest over the fields).
    Returns:
        {"time", "time_per_field", "time_richardson", "companion_step_ratio", "companion_difference"}.
    """
    if not ratio > 0 or abs(ratio - 1) < 1e-9:
        raise ValueError(f"companion step ratio must be positive and differ from 1, got {ratio}")
    if ratio > 1:
        factor, richardson = 1.0, 1.0 / (ratio**order - 1)
    else:
        factor, richardson = 1.0 / (1.0 - ratio), 1.0 / (1.0 - ratio**order)
    per_field = {f: d * factor for f, d in differences.items()}
    pick = (lambda d: d[headline]) if headline else (lambda d: max(d.values()))
    return {"time": pick(per_field), "time_per_field": per_field,
            "time_richardson": pick({f: d * richardson for f, d in differences.items()}),
            "companion_step_ratio": ratio, "companion_difference": dict(differences)}


def definition(order: int, space: str) -> str:
    """The text stored as ``error_estimate.definition``."""
    return ("relative L2 over the output grid; total = space + time; time = |q(h) - q(r h)| for a companion "
            "with steps r = companion_step_ratio times longer (r > 1; a bound whenever the longer step at least "
            "doubles the error, and it includes the round-off floor), or |q(h) - q(r h)|/(1 - r) for a finer "
            f"companion (r < 1); time_richardson = the order-{order} Richardson value, for information only "
            f"(optimistic outside the asymptotic regime); space = {space}")


def dt_record(requested: float, used: float, gap: float, steps: int) -> dict:
    """Solver-info entries for a step that had to be adjusted to land on the output times.

    Returns {} when `used` equals `requested` (to 1e-9 relative), else {"dt_requested", "dt_adjusted"}
    with a one-line reason (the CLI prints it).
    """
    if abs(used - requested) <= 1e-9 * requested:
        return {}
    why = ("it is longer than the output spacing" if requested > gap * (1 + 1e-12)
           else "it does not divide the output spacing")
    return {"dt_requested": requested,
            "dt_adjusted": f"dt={requested:g} requested, {used:.6g} used: {why} {gap:.6g} "
                           f"({steps} step{'s' if steps > 1 else ''} per output interval)"}
