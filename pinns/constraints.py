"""Hard constraints: initial data and zero Dirichlet data built into the network's output.

For a problem with a known initial function u0 (`Problem.initial_fn`) the constrained output is

    u(t, x) = u0(x) + phi(t - t0) * B(x) * N(t, x),

with N the raw network, ``phi(s) = s`` (or ``s**2`` when the problem also imposes u_t = 0 at t0,
the wave equation), and ``B(x) = prod over the Dirichlet space axes of (x - lo)(hi - x) / ((hi - lo)/2)**2``
(1 where there is no Dirichlet face, e.g. periodic axes). u then meets the initial condition (and
u_t = 0) and the zero boundary values exactly, at every point and to round-off, so those loss terms
vanish and only the residual is trained. This is the construction of Lagaris et al. (1998) and of
the high-accuracy PINN literature (Urban et al. 2024 write u = u0(x) + t N(t, x) for Burgers).

It applies to one time window starting at t0 = the domain start, with zero Dirichlet data on
faces of space axes only; `check` says why a problem does not qualify.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp

from .problems import Problem

__all__ = ["check", "constrained_model", "constrained_terms"]


def check(problem: Problem, windows: int = 1) -> None:
    """Raise ValueError (one line) if `problem` cannot take hard constraints."""
    if not problem.time_dependent or problem.initial_fn is None:
        raise ValueError(f"{problem.name}: hard constraints need a time-dependent problem with an initial function")
    if windows != 1:
        raise ValueError("hard constraints hold for one time window (the initial function is u0 at t0)")
    if problem.dirichlet is not None:
        raise ValueError(f"{problem.name}: hard constraints need zero Dirichlet data")
    if any(axis == "t" for axis, _ in problem.faces):
        raise ValueError(f"{problem.name}: Dirichlet data on a time face cannot be built in")
    if tuple(problem.ic_fields) != tuple(problem.fields):
        raise ValueError(f"{problem.name}: hard constraints need initial data for every field")


def constrained_terms(problem: Problem) -> tuple:
    """The loss terms left to train under hard constraints: the residual equations (and data)."""
    return tuple(t for t in problem.terms if not (t == "bc" or t == "ic" or t.startswith("ic_")))


def constrained_model(problem: Problem, raw: Callable, t_origin) -> Callable:
    """z -> u(z) of the constrained network (see the module docstring); `raw`: z -> (n_fields,)."""
    t_axis = problem.axes.index("t")
    space = [i for i, a in enumerate(problem.axes) if a != "t"]
    walls = [(problem.axes.index(a), problem.domain[a]) for a in sorted({a for a, _ in problem.faces})]
    power = 2 if problem.initial_rate else 1

    def u(z):
        s = z[t_axis] - t_origin
        bubble = jnp.ones((), z.dtype)
        for i, (lo, hi) in walls:
            bubble = bubble * (z[i] - lo) * (hi - z[i]) / (0.5 * (hi - lo)) ** 2
        return problem.initial_fn(z[jnp.asarray(space)]) + s**power * bubble * raw(z)

    return u
