"""Hard constraints: initial data and boundary data built into the network's output.

The constrained output is

    u(t, x) = u0(x) + phi(t - t0) * B(x) * N(t, x)     (time-dependent, `Problem.initial_fn` = u0)
    u(x)    = B(x) * N(x)                               (steady)

with N the raw network, ``phi(s) = s`` (``s**2`` when the problem also imposes u_t = 0 at t0, the
wave equation) and ``B(x) = prod over the space axes with Dirichlet faces of (x - lo)(hi - x) / ((hi - lo)/2)**2``
(periodic axes have no faces and no factor). Where the boundary data are zero on the space faces
and u0 is the initial data, u meets the initial condition (and u_t = 0) and the boundary condition
exactly at every point, so those loss terms vanish and only the residual (and data) terms are
trained. This is the construction of Lagaris et al. (1998) used by the high-accuracy PINN literature
(Urban et al. 2024 write u = u0(x) + t N(t, x) for Burgers).

**Initial data with a kink across the periodic boundary** (Allen-Cahn's u0 = x^2 cos(pi x): its slope
jumps by J = u0'(lo+) - u0'(hi-) = 4 at x = +-1). The true solution is smooth for t > 0, but u - u0
then holds a boundary layer of width sqrt(D t) whose size over t grows like t^(-1/2): no smooth
correction t N(t, x) can carry it, and it dominated the first measured error (5.5e-4, against 1.6e-5
away from the boundary). `periodic_kink` measures J from u0 and, from the problem's own residual
linearised about the boundary state u0(lo), the diffusion D and the reaction rate c (u_t = D u_xx +
c u + ...). The constrained output then adds the layer of the linearised equation,

    u0(x) + (J/2) e^(c s) sum_m P(s, x - lo - m L),   P(s, xi) = E|xi + sqrt(2 D s) Z| - |xi|
                                                         = 2 sqrt(D s) ierfc(|xi| / (2 sqrt(D s)))

(s = t - t0, Z standard normal, images m = -1..2 of the periodic point, L the period), which is u0
at s = 0 and smooth across the boundary for s > 0, and the network gets |sin(pi (x - lo) / L)| as an
extra input (`pinns.nets.embedding`, ``kinks``) so that t N can carry the slope change that the
linearisation leaves. On the Allen-Cahn reference, what a locally smooth correction cannot represent
within 5 grid points of x = +-1 falls from 3e-3 (rel L2 over the whole grid, base u0) to 3e-7
(this base plus that input).

Whether a problem qualifies is not read from flags but measured: `check` evaluates the constrained
output of a non-zero stand-in network on random points of every initial and boundary face and
requires the problem's own initial/boundary errors there to vanish to round-off. So a problem whose
boundary data are not zero, or whose initial function differs from its initial data, is refused
with the size of the mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .problems import Problem
from .problems._base import d as partial_d

__all__ = ["PeriodicKink", "check", "constrained_model", "constrained_terms", "periodic_kink"]

_CHECK_POINTS = 64
_CHECK_ULPS = 1e3  # allowed mismatch in units of the dtype's epsilon (2e-13 in float64)


def constrained_terms(problem: Problem) -> tuple:
    """The loss terms left to train under hard constraints: the residual equations (and data)."""
    return tuple(t for t in problem.terms if not (t == "bc" or t == "ic" or t.startswith("ic_")))


@dataclass(frozen=True)
class PeriodicKink:
    """A slope jump of u0 across the periodic boundary of a 1-D problem, and the equation linearised there.

    Attributes:
        axis: index of the periodic space axis in z.
        lo, period: the boundary point (= lo + period) and the period.
        jump: J = u0'(lo+) - u0'(hi-), in field units per unit of the axis.
        diffusion: D, the coefficient of u_xx (time units: axis units^2 per unit time).
        rate: c = df/du at the boundary state, u_t = D u_xx + c u + ... (per unit time).
    """

    axis: int
    lo: float
    period: float
    jump: float
    diffusion: float
    rate: float

    def layer(self, z, t_axis: int, t0):
        """(J/2) e^(c s) sum_m P(s, x - lo - m L) at one point z (module docstring); 0 at s = t - t0 <= 0."""
        s = z[t_axis] - t0
        positive = s > 0
        s_safe = jnp.where(positive, s, 1.0)
        sigma = jnp.sqrt(self.diffusion * s_safe)
        total = jnp.zeros((), z.dtype)
        for m in (-1, 0, 1, 2):
            xi = jnp.abs(z[self.axis] - self.lo - m * self.period) / (2 * sigma)
            total = total + jnp.exp(-xi**2) / jnp.sqrt(jnp.pi) - xi * jax.scipy.special.erfc(xi)
        value = 0.5 * self.jump * jnp.exp(self.rate * s_safe) * 2 * sigma * total
        return jnp.where(positive, value, 0.0)


_KINK_RTOL = 1e-8  # smaller slope jumps (relative to the size of u0') count as none


def periodic_kink(problem: Problem) -> PeriodicKink | None:
    """The `PeriodicKink` of a time-dependent, one-field problem on one periodic space axis, or None.

    None when u0 is smooth across the boundary (|J| <= 1e-8 of the slope scale), the problem is of another
    shape, or its linearised residual has no diffusion (D <= 0: no layer to build).
    """
    space = problem.space_axes
    if (not problem.time_dependent or problem.initial_fn is None or len(space) != 1
            or space[0] not in problem.periodic or len(problem.fields) != 1):
        return None
    axes, name = problem.axes, space[0]
    lo, hi = problem.domain[name]
    x_axis, t_axis = axes.index(name), axes.index("t")
    u0 = lambda x: problem.initial_fn(jnp.reshape(x, (1,)))[0]  # noqa: E731
    slope_lo, slope_hi = float(jax.grad(u0)(jnp.asarray(lo))), float(jax.grad(u0)(jnp.asarray(hi)))
    jump = slope_lo - slope_hi
    if abs(jump) <= _KINK_RTOL * (1.0 + abs(slope_lo) + abs(slope_hi)):
        return None
    z = jnp.zeros(len(axes)).at[t_axis].set(problem.domain["t"][0]).at[x_axis].set(hi)
    state = u0(jnp.asarray(hi))

    def coefficient(phi):  # d residual / d eps of u = state + eps phi, at z
        def res(eps):
            return problem.residual(lambda q: jnp.atleast_1d(state + eps * phi(q)), problem.params, z)[0]
        return float(jax.jvp(res, (0.0,), (1.0,))[1])

    a_t = coefficient(lambda q: q[t_axis] - z[t_axis])
    diffusion = -coefficient(lambda q: 0.5 * (q[x_axis] - z[x_axis]) ** 2) / a_t
    rate = -coefficient(lambda q: jnp.ones((), q.dtype)) / a_t
    if not diffusion > 0:
        return None
    return PeriodicKink(x_axis, float(lo), float(hi - lo), jump, diffusion, rate)


def constrained_model(problem: Problem, raw: Callable, t_origin=None, kink: PeriodicKink | None = None) -> Callable:
    """z -> u(z) of the constrained network (module docstring); `raw`: z -> (n_fields,), one point.

    `kink`: `periodic_kink(problem)` to build its boundary layer into the output (the trainer passes it
    and gives the network the matching input); None leaves u0 as it is.
    """
    axes = problem.axes
    walls = [(axes.index(a), problem.domain[a]) for a in sorted({a for a, _ in problem.faces if a != "t"})]
    timed = problem.time_dependent
    if timed and problem.initial_fn is None:
        raise ValueError(f"{problem.name}: no initial function for a hard initial condition")
    t_axis = axes.index("t") if timed else None
    space = jnp.asarray([i for i, a in enumerate(axes) if a != "t"])
    t0 = problem.domain["t"][0] if t_origin is None and timed else t_origin
    power = 2 if problem.initial_rate else 1

    def u(z):
        bubble = jnp.ones((), z.dtype)
        for i, (lo, hi) in walls:
            bubble = bubble * (z[i] - lo) * (hi - z[i]) / (0.5 * (hi - lo)) ** 2
        if not timed:
            return bubble * raw(z)
        base = problem.initial_fn(z[space])
        if kink is not None:
            base = base + kink.layer(z, t_axis, t0)
        return base + (z[t_axis] - t0) ** power * bubble * raw(z)

    return u


def _checks(problem: Problem, key) -> tuple:
    """([(kind, where, points (n, d), target)], ic_idx, bc_idx): the problem's own initial and boundary data
    (target: stored initial values, None for u_t = 0, or the Dirichlet function)."""
    axes, dom = problem.axes, problem.domain
    lo = np.asarray([dom[a][0] for a in axes])
    hi = np.asarray([dom[a][1] for a in axes])
    bc_idx = np.array([problem.fields.index(f) for f in problem.dirichlet_fields])
    ic_idx = np.array([problem.fields.index(f) for f in problem.ic_fields])
    target = problem.dirichlet or (lambda z: jnp.zeros(len(bc_idx)))
    out = []
    if problem.initial is not None:  # the initial data as the problem stores them (dataset row t = t0)
        pts, vals = problem.initial
        take = np.linspace(0, len(pts) - 1, min(len(pts), 4 * _CHECK_POINTS)).astype(int)
        z = np.concatenate([np.full((len(take), 1), lo[axes.index("t")]), pts[take]], axis=1)
        out.append(("ic", "t=lo", z, vals[take]))
        if problem.initial_rate:
            out.append(("ic_t", "t=lo (u_t)", z, None))
    unit = np.asarray(jax.random.uniform(key, (_CHECK_POINTS * max(len(problem.faces), 1), len(axes))), np.float64)
    for k, (axis, side) in enumerate(problem.faces):
        pts = lo + (hi - lo) * unit[k * _CHECK_POINTS:(k + 1) * _CHECK_POINTS]
        pts[:, axes.index(axis)] = (lo if side == 0 else hi)[axes.index(axis)]
        out.append(("bc", f"{axis}={'lo' if side == 0 else 'hi'}", pts, target))
    return out, ic_idx, bc_idx


def check(problem: Problem, windows: int = 1) -> None:
    """Raise ValueError (one line) unless the hard constraints reproduce the problem's own conditions.

    Measured with the stand-in network N(z) = 1 + sin(sum z) on the stored initial data (and u_t = 0
    there where imposed) and on random points of every Dirichlet face: the error must be below the
    size of the data times 1000 machine epsilons (2e-13 in float64).
    """
    if windows != 1:
        raise ValueError("hard constraints hold for one time window (the initial function is u0 at t0)")
    if problem.time_dependent and problem.initial_fn is None:
        raise ValueError(f"{problem.name}: hard constraints need an initial function (Problem.initial_fn)")
    n_out = len(problem.fields)
    u = constrained_model(problem, lambda z: (1.0 + jnp.sin(jnp.sum(z))) * jnp.ones(n_out), kink=periodic_kink(problem))
    checks, ic_idx, bc_idx = _checks(problem, jax.random.PRNGKey(7))
    dtype = jnp.zeros(()).dtype
    for kind, where, pts, target in checks:
        z = jnp.asarray(pts, dtype)
        got = jax.vmap(u)(z)
        if kind == "ic":
            err = got[:, ic_idx] - jnp.asarray(target, dtype)
        elif kind == "ic_t":
            err = jax.vmap(partial_d(u, problem.axes.index("t")))(z)[:, ic_idx]
        else:
            err = got[:, bc_idx] - jnp.reshape(jax.vmap(target)(z), (len(z), -1))
        rel = float(jnp.max(jnp.abs(err))) / (1.0 + float(jnp.max(jnp.abs(got))))
        if rel > _CHECK_ULPS * float(jnp.finfo(dtype).eps):
            raise ValueError(f"{problem.name}: hard constraints do not reproduce the data on face {where} "
                             f"(relative error {rel:.1e})")
