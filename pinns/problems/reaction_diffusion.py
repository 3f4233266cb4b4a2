"""Reaction-diffusion (AutoBalance; Yu et al. 2022): u_t = u_xx + R, x in [-pi, pi], t in [0, 1].

R = e^{-t} [3/2 sin 2x + 8/3 sin 3x + 15/4 sin 4x + 63/8 sin 8x], u(+-pi, t) = 0, exact solution
u = e^{-t} (sum_{n=1..4} sin(nx)/n + sin(8x)/8). As in the paper there are two loss terms: the
residual (weight 5) and one boundary term over the initial line and both walls (weight 1), 2000
residual and 100 boundary points, drawn once. This file is the single definition of the problem.
"""

import jax.numpy as jnp
import numpy as np

from ._base import Problem, d, grid_reference, taylor
from ._presets import accurate, autobalance_paper, autobalance_quick

T, X = 0, 1
DOMAIN = {"t": (0.0, 1.0), "x": (-np.pi, np.pi)}
PARAMS = {"modes": (1, 2, 3, 4, 8)}


def exact_u(z):
    """u(t, x) for z = (..., 2)."""
    t, x = z[..., 0], z[..., 1]
    return jnp.exp(-t) * (sum(jnp.sin(n * x) / n for n in range(1, 5)) + jnp.sin(8 * x) / 8)


def initial_u(zs):
    """(1,): u(0, x) at zs = (x,)."""
    return exact_u(jnp.stack([jnp.zeros_like(zs[0]), zs[0]]))[None]


def source(t, x):
    return jnp.exp(-t) * (1.5 * jnp.sin(2 * x) + 8 / 3 * jnp.sin(3 * x) + 15 / 4 * jnp.sin(4 * x)
                          + 63 / 8 * jnp.sin(8 * x))


def residual(u, p, z):
    """(1,): u_t - u_xx - R at z = (t, x)."""
    return d(u, T)(z) - taylor(u, z, X, 2)[2] - source(z[T], z[X])


def build(data=None):
    if data is not None:
        raise ValueError("reaction_diffusion has an exact solution and takes no --data")
    axes = ("t", "x")
    return Problem(
        name="reaction_diffusion", axes=axes, fields=("u",), domain=DOMAIN, residual=residual, params=PARAMS,
        initial_fn=initial_u, dirichlet=lambda z: exact_u(z)[None], bc_faces=(("t", 0), ("x", 0), ("x", 1)),
        reference=grid_reference(axes, DOMAIN, 300, lambda pts: {"u": exact_u(pts)}),
        metric_fields=("u",), loss_weights={"res": 5.0, "bc": 1.0}, source="exact",
        presets={"paper": autobalance_paper(), "quick": autobalance_quick(),
                 "accurate": accurate()})
