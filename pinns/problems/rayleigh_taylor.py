"""Rayleigh-Taylor (Boussinesq): u_t + (u.grad) u + grad p - nu Lap u - T e_y = 0, div u = 0,
T_t + u.grad T - kappa Lap T = 0, nu = sqrt(pr / ra), kappa = 1 / sqrt(pr ra).

x periodic, walls at both ends of y with u = v = T = 0. Network outputs u, v, p, T; the initial
data (u, v, T) are the dataset's first snapshot; pr and ra come from the dataset. Metric: T.
"""

import jax.numpy as jnp

from ._base import d, from_benchmark, laplacian, taylor
from ._presets import soap_paper, soap_quick

T, Y, X = 0, 1, 2


def residual(w, p, z):
    """(4,): x-, y-momentum, temperature and continuity at z = (t, y, x); w(z) = (u, v, p, T)."""
    u, v, _, _ = w(z)
    wt = d(w, T)(z)
    _, wy = taylor(w, z, Y, 1)
    _, wx = taylor(w, z, X, 1)
    lap = laplacian(w, z, (Y, X))
    nu, kappa = jnp.sqrt(p["pr"] / p["ra"]), 1.0 / jnp.sqrt(p["pr"] * p["ra"])
    ru = wt[0] + u * wx[0] + v * wy[0] + wx[2] - nu * lap[0]
    rv = wt[1] + u * wx[1] + v * wy[1] + wy[2] - nu * lap[1] - w(z)[3]
    rt = wt[3] + u * wx[3] + v * wy[3] - kappa * lap[3]
    return [ru, rv, rt, wx[0] + wy[1]]


def build(data):
    return from_benchmark("rayleigh_taylor", data, residual, ("u", "v", "p", "T"),
                          equations=("res_u", "res_v", "res_T", "res_c"), initial_fields=("u", "v", "T"),
                          bc_fields=("u", "v", "T"),
                          presets={"paper": soap_paper(width=384, windows=4), "quick": soap_quick(windows=2)})
