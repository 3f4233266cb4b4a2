"""Helmholtz (AutoBalance): u_xx + u_yy + k^2 u - q = 0 on [-1, 1]^2, u = 0 on the boundary.

q = (k^2 - 2 (a pi)^2) sin(a pi x) sin(a pi y); exact u = sin(a pi x) sin(a pi y), a = 5, k = 1.
2000 residual and 400 boundary points, drawn once; weights 1, 1. This file is the single definition.

The `paper` preset follows the readings of reaction_diffusion.py (fixed points, Glorot init, float32,
AdamW weight decay 0.01, 3 hidden layers). Measured on this problem (AutoBalance-AdamW, 30 000 steps, MSE
over the 300 x 300 grid; results/autobalance_full/investigation.md): seeds 0, 1, 2 give 2.06e-2, 1.31e-2,
1.63e-2 (paper, best of 3: 2.04e-3). Redrawing the points every step: 0.55 (fixed kept); every 1000
steps: 1.2e-2. float64, seeds 0-2: 2.7e-3, 1.5e-2, 1.3e-2; no weight decay, seeds 0-2: 5.0e-3, 1.7e-2,
0.34; PyTorch's default init: 3.3e-2. None moves the best of three seeds reliably, so none is adopted.
"""

import jax.numpy as jnp

from ._base import Problem, grid_reference, laplacian
from ._presets import accurate, autobalance_paper, autobalance_quick

Y, X = 0, 1
DOMAIN = {"y": (-1.0, 1.0), "x": (-1.0, 1.0)}
PARAMS = {"a": 5.0, "k": 1.0}


def exact_u(z, p=PARAMS):
    """u(y, x) for z = (..., 2)."""
    return jnp.sin(p["a"] * jnp.pi * z[..., X]) * jnp.sin(p["a"] * jnp.pi * z[..., Y])


def residual(u, p, z):
    """(1,): Lap u + k^2 u - q at z = (y, x)."""
    q = (p["k"] ** 2 - 2 * (p["a"] * jnp.pi) ** 2) * exact_u(z, p)
    return laplacian(u, z, (Y, X)) + p["k"] ** 2 * u(z) - q


def build(data=None):
    if data is not None:
        raise ValueError("helmholtz has an exact solution and takes no --data")
    axes = ("y", "x")
    return Problem(
        name="helmholtz", axes=axes, fields=("u",), domain=DOMAIN, residual=residual, params=PARAMS,
        reference=grid_reference(axes, DOMAIN, 300, lambda pts: {"u": exact_u(pts)}),
        metric_fields=("u",), loss_weights={"res": 1.0, "bc": 1.0}, source="exact",
        presets={"paper": autobalance_paper(lr_floor=1e-5, n_bc=400), "quick": autobalance_quick(lr_floor=1e-5, n_bc=400),
                 "accurate": accurate(qn_steps=6000, lm_steps=150)})
