"""Poisson inverse problem (AutoBalance; Zhongkai et al. 2024): recover a(x, y) in -div(a grad u) = f on [0, 1]^2.

u = sin(pi x) sin(pi y), a = 1 / (1 + x^2 + y^2 + (x-1)^2 + (y-1)^2), f = -div(a grad u) (computed
here by automatic differentiation of those two, not retyped). Observations: 60 interior values of
u with Gaussian noise of variance 0.01 and 10 boundary values of a, drawn once with `DATA_SEED`.
Two networks (u and a, 4 x 50 tanh). Loss terms: residual (weight 1) and data (weight 10).
This file is the single definition of the problem.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Problem, d, grid_reference
from ._presets import autobalance_paper, autobalance_quick

Y, X = 0, 1
DOMAIN = {"y": (0.0, 1.0), "x": (0.0, 1.0)}
PARAMS = {"noise_variance": 0.01, "n_u_obs": 60, "n_a_boundary": 10}
DATA_SEED = 0


def exact_u(z):
    return jnp.sin(jnp.pi * z[..., X]) * jnp.sin(jnp.pi * z[..., Y])


def exact_a(z):
    x, y = z[..., X], z[..., Y]
    return 1.0 / (1 + x**2 + y**2 + (x - 1) ** 2 + (y - 1) ** 2)


def _flux_divergence(u, a, z):
    """div(a grad u) at one point."""
    return sum(d(lambda s: a(s) * d(u, i)(s), i)(z) for i in (Y, X))


def source(z):
    """f = -div(a grad u) of the exact pair at one point z = (y, x)."""
    return -_flux_divergence(exact_u, exact_a, z)


def residual(w, p, z):
    """(1,): -div(a grad u) - f with (u, a) = w(z)."""
    u = lambda s: w(s)[0]  # noqa: E731
    a = lambda s: w(s)[1]  # noqa: E731
    return jnp.atleast_1d(-_flux_divergence(u, a, z) - source(z))


def observations(params=PARAMS, seed=DATA_SEED):
    """(points (70, 2), values (70,), field index (70,)): noisy u inside, exact a on the boundary."""
    rng = np.random.default_rng(seed)
    n_u, n_a = params["n_u_obs"], params["n_a_boundary"]
    inner = rng.uniform(0, 1, (n_u, 2))
    u_obs = np.asarray(exact_u(inner)) + rng.normal(0, np.sqrt(params["noise_variance"]), n_u)
    side = rng.integers(0, 4, n_a)
    s = rng.uniform(0, 1, n_a)
    edge = np.stack([np.where(side < 2, side % 2, s), np.where(side < 2, s, side % 2)], axis=-1)
    a_obs = np.asarray(exact_a(edge))
    points = np.concatenate([inner, edge])
    return points, np.concatenate([u_obs, a_obs]), np.concatenate([np.zeros(n_u, int), np.ones(n_a, int)])


def build(data=None):
    if data is not None:
        raise ValueError("poisson_inverse has an exact solution and takes no --data")
    axes = ("y", "x")
    paper = {**autobalance_paper(depth=4, batch=100, n_bc=0), "separate_nets": True}
    quick = {**autobalance_quick(depth=4, batch=100, n_bc=0), "separate_nets": True}
    return Problem(
        name="poisson_inverse", axes=axes, fields=("u", "a"), domain=DOMAIN, residual=residual, params=PARAMS,
        bc_faces=(), data=observations(),
        reference=grid_reference(axes, DOMAIN, 300, lambda pts: {"u": exact_u(pts), "a": exact_a(pts)}),
        metric_fields=("a",), loss_weights={"res": 1.0, "data": 10.0}, source="exact",
        # no "accurate" preset: minimising the loss to round-off fits the noise of the 60 u values (measured:
        # two 3 x 30 float64 networks, 2000 residual points, Adam then SSBroyden: the data misfit fell below
        # the noise level and the MSE of a rose from 4e-3 to 5.5; results/accuracy_cpu/README.md)
        presets={"paper": paper, "quick": quick})
