"""March a one-step scheme to a list of output times, with progress and blow-up detection."""

from __future__ import annotations

import contextlib
import math
from typing import Callable

import numpy as np
from tqdm.auto import tqdm


class BlowUpError(RuntimeError):
    """The solution became non-finite; `t` and `step` say where."""

    def __init__(self, t: float, step: int):
        super().__init__(f"solution blew up (non-finite values) at t={t:.6g}, step {step}; "
                         "reduce dt or increase the resolution")
        self.t, self.step = t, step


def substeps(t_out: np.ndarray, dt: float) -> tuple:
    """Steps per output interval and the adjusted dt (<= dt) that lands exactly on each output time.

    Output times must be uniformly spaced. Returns (n_sub, dt_eff).
    """
    t_out = np.asarray(t_out, float)
    if t_out.size < 2:
        return 0, dt
    gaps = np.diff(t_out)
    if not np.allclose(gaps, gaps[0], rtol=1e-9, atol=0):
        raise ValueError("output times must be uniformly spaced")
    n_sub = max(1, math.ceil(gaps[0] / dt * (1 - 1e-12)))
    return n_sub, gaps[0] / n_sub


def rollout(step: Callable[[np.ndarray], np.ndarray], state: np.ndarray, t_out: np.ndarray, n_sub: int,
            observe: Callable[[np.ndarray], np.ndarray], progress: bool = True, desc: str = "",
            check_every: int = 100) -> np.ndarray:
    """Apply `step` n_sub times between consecutive output times and record `observe(state)`.

    Args:
        step: state -> state after one time step.
        state: state at t_out[0].
        t_out: output times (the first is the initial time).
        n_sub: steps per output interval (see `substeps`).
        observe: state -> array written for that output time.
        progress: show a tqdm bar on stderr.
        check_every: test for non-finite values every this many steps (and at every output).
    Returns:
        array (len(t_out), *observe(state).shape).
    Raises:
        BlowUpError: with the time and step of the first non-finite state found.
    """
    t_out = np.asarray(t_out, float)
    first = observe(state)
    out = np.empty((t_out.size,) + first.shape, dtype=first.dtype)
    out[0] = first
    dt = (t_out[1] - t_out[0]) / n_sub if t_out.size > 1 else 0.0
    n_total = n_sub * (t_out.size - 1)
    bar = tqdm(total=n_total, desc=desc, disable=not progress, unit="step", mininterval=0.5, leave=False)
    count = 0
    # overflow on the way to a blow-up is reported once, as BlowUpError, not as numpy RuntimeWarnings
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), contextlib.closing(bar):
        for i in range(1, t_out.size):
            for _ in range(n_sub):
                state = step(state)
                count += 1
                if count % check_every == 0 and not np.isfinite(state).all():
                    raise BlowUpError(t_out[0] + count * dt, count)
            bar.update(n_sub)
            values = observe(state)
            if not np.isfinite(values).all():
                raise BlowUpError(t_out[i], count)
            out[i] = values
    return out

