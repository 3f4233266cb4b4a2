"""March a time stepper to a list of output times, with progress and blow-up detection."""

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



def rollout_chunked(stepper, t_out: np.ndarray, out: np.ndarray, observe: Callable[[np.ndarray], np.ndarray],
                    n_steps: Callable[[int, float], int], chunk: float, progress: bool = True, desc: str = "",
                    check_every: int = 50) -> list:
    """March a variable-step `stepper` through the output times in chunks and record `observe(state)`.

    Each output interval is cut into ceil(gap / chunk) equal chunks (time units), and each chunk into
    ``n_steps(index, length)`` equal steps, where `index` counts the chunks from 0 and `length` is the
    chunk's duration measured from the stepper's current time.

    Args:
        stepper: object with ``step(h)``, ``state``, ``time`` and ``steps``, started at t_out[0].
        t_out: output times (the first is the initial time).
        out: array (len(t_out), ...) that receives observe(state) at t_out[1:] (out[0] is left as it is).
        observe: state -> array for one output time.
        n_steps: (chunk index, chunk length) -> number of steps in that chunk.
        chunk: longest chunk, in time units.
        progress: show a tqdm bar (in time units) on stderr.
        check_every: test the state for non-finite values every this many steps of a chunk (and every output).
    Returns:
        the steps taken per chunk (list of int).
    Raises:
        BlowUpError: with the time and step count of the first non-finite state found.
    """
    t_out = np.asarray(t_out, float)
    used = []
    bar = tqdm(total=float(t_out[-1] - t_out[0]), desc=desc, disable=not progress, unit="t", mininterval=0.5,
               leave=False, bar_format="{l_bar}{bar}| t={n:.3g}/{total:.3g} [{elapsed}<{remaining}]")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), contextlib.closing(bar):
        for i in range(1, t_out.size):
            gap = t_out[i] - t_out[i - 1]
            chunks = math.ceil(gap / chunk * (1 - 1e-12))
            for c in range(chunks):
                t_end = t_out[i] if c == chunks - 1 else t_out[i - 1] + gap * (c + 1) / chunks
                length = t_end - stepper.time
                n_sub = n_steps(len(used), length)
                h = length / n_sub
                for j in range(n_sub):
                    stepper.step(h)
                    if j % check_every == check_every - 1 and not np.isfinite(stepper.state).all():
                        raise BlowUpError(stepper.time, stepper.steps)
                used.append(n_sub)
                bar.update(max(0.0, min(length, bar.total - bar.n)))  # float sums may overshoot
            out[i] = observe(stepper.state)
            if not np.isfinite(out[i]).all():
                raise BlowUpError(t_out[i], stepper.steps)
    return used
