"""Variable-step SBDF3 (IMEX BDF) time stepping: weights, multistep history, start on substeps, step control.

For u' = L u + N(u) with L treated implicitly and N explicitly, SBDFq (Ascher, Ruuth & Wetton, SIAM J.
Numer. Anal. 32 (1995)) takes u_new from

    alpha_0 u_new - L u_new = -sum_{j>=1} alpha_j u_j + sum_{j>=1} beta_j N(u_j),

with alpha the BDF weights (derivative of the Lagrange interpolant through the q + 1 levels) and beta the
extrapolation weights of N from the q old levels. The weights here are those of the variable-step form,
so the step may change from one step to the next. Times and steps are in the units of the problem.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


def sbdf_weights(times) -> tuple:
    """Variable-step SBDF weights at times[0] from levels times[1:] (q = len(times) - 1 <= 3).

    Returns (alpha, beta): u'(t_new) ~ sum_j alpha_j u(times[j]) (BDF, all q+1 levels) and
    N(t_new) ~ sum_j beta_j N(times[j+1]) (extrapolation from the q old levels). With a constant step
    h and q = 3 these are the SBDF3 weights (11/6, -3, 3/2, -1/3)/h and (3, -3, 1).
    """
    t = [float(tj) - float(times[0]) for tj in times]
    q = len(t) - 1
    alpha = []
    for j in range(q + 1):  # derivative at t[0] of the Lagrange basis polynomial l_j
        others = [t[i] for i in range(q + 1) if i != j]
        denom = math.prod(t[j] - o for o in others)
        alpha.append(sum(math.prod(t[0] - o for i, o in enumerate(others) if i != skip) for skip in range(q)) / denom)
    beta = []
    for j in range(1, q + 1):  # Lagrange extrapolation from t[1:] to t[0]
        beta.append(math.prod((t[0] - t[i]) / (t[j] - t[i]) for i in range(1, q + 1) if i != j))
    return alpha, beta


class SBDF3Stepper:
    """Variable-step SBDF3 with an SBDF1/SBDF2 start on substeps; a base class for a discretised problem.

    The subclass provides
        ``nonlinear(state) -> tuple`` of explicit terms N_i, one for each of the first len(N) components
        ``state[i]`` (the ones advanced in time; later components are diagnostic, e.g. a streamfunction), and
        ``implicit(c, *rhs) -> state``: the new state from (c - L) state[i] = rhs[i] plus its constraints.
    `start(state, t)` once, then `step(h)` repeatedly; `state`, `time`, `steps` (substeps included) and
    `h_range` (smallest and largest step after the start) describe the run.

    Args:
        startup_substeps: the first two steps are each done as this many SBDF1/SBDF2 substeps, so that
            the start does not lower the global order.
    """

    def __init__(self, startup_substeps: int = 16):
        self.startup_substeps = int(startup_substeps)
        self.steps = 0
        self.h_range = [math.inf, 0.0]

    def _sbdf(self, hist, t_new: float):
        """One SBDF step to t_new from hist = [(t, state, N_0, N_1, ...), ...] (newest first; order = len(hist))."""
        alpha, beta = sbdf_weights([t_new] + [lv[0] for lv in hist])
        rhs = [-sum(alpha[j + 1] * lv[1][i] for j, lv in enumerate(hist))
               + sum(b * lv[2 + i] for b, lv in zip(beta, hist)) for i in range(len(hist[0]) - 2)]
        new = self.implicit(alpha[0], *rhs)
        return (t_new, new) + self.nonlinear(new)

    def start(self, state: np.ndarray, t: float = 0.0):
        """Begin a trajectory at `state`, time `t` (forgets any history)."""
        self._hist = deque([(t, state) + self.nonlinear(state)], maxlen=3)

    @property
    def state(self) -> np.ndarray:
        """The newest state."""
        return self._hist[0][1]

    @property
    def time(self) -> float:
        """The time of the newest state."""
        return self._hist[0][0]

    def step(self, h: float) -> np.ndarray:
        """Advance by h (variable-step SBDF3; the first two steps by SBDF1/SBDF2 substeps) and return the state."""
        t_new = self.time + h
        if len(self._hist) < 3:
            sub = h / self.startup_substeps
            tiny = deque([self._hist[0]], maxlen=2)
            if len(self._hist) == 2:  # continue the substep history of the first step
                tiny = self._tiny
            for i in range(1, self.startup_substeps + 1):
                t_i = t_new if i == self.startup_substeps else self.time + i * sub
                tiny.appendleft(self._sbdf(tiny, t_i))
                self.steps += 1
            self._tiny = tiny
            self._hist.appendleft(tiny[0])
        else:
            self._hist.appendleft(self._sbdf(self._hist, t_new))
            self.steps += 1
            self.h_range = [min(self.h_range[0], h), max(self.h_range[1], h)]
        return self.state


def steps_for_chunk(length: float, rate: float, rate_before: float, dt_max: float, cfl: float,
                    h_prev: float | None, multiple: int = 3) -> int:
    """Number of equal steps for the next chunk of `length` time units: h <= dt_max and predicted CFL <= `cfl`.

    `rate` is the advective rate (CFL number per unit step, 1 / time units) now, `rate_before` its value at
    the start of the previous chunk: the rate is extrapolated over the chunk from its growth over the last
    one (at most x2). The step may grow by at most 25 % from one chunk to the next (variable-step BDF3 is
    zero-stable for step ratios up to ~1.36). The count is rounded up to a multiple of `multiple` (3 lets an
    error companion take exactly 1.5 times longer steps).
    """
    growth = min(2.0, max(1.0, rate / rate_before)) if rate_before > 0 else 2.0
    h = min(dt_max, cfl / (rate * growth)) if rate > 0 else dt_max
    if h_prev:
        h = min(h, 1.25 * h_prev)
    n_sub = math.ceil(length / h * (1 - 1e-12))
    return n_sub + (-n_sub) % multiple
