"""Kolmogorov flow: u_t + (u.grad) u + grad p - nu Lap u - (A sin(2 pi m y), 0) = 0, div u = 0, periodic square.

Velocity-pressure form (network outputs u, v, p); the metric field is the vorticity w = v_x - u_y,
computed from the network by forward-mode derivatives. nu, A (`forcing_amplitude`) and m
(`forcing_mode`) come from the dataset; the initial data are its first snapshot (t = 0.04).
"""

import jax.numpy as jnp

from ._base import d, from_benchmark, laplacian, taylor
from ._presets import soap_paper, soap_quick

T, Y, X = 0, 1, 2


def residual(w, p, z):
    """(3,): x- and y-momentum and continuity at z = (t, y, x); w(z) = (u, v, p)."""
    u, v, _ = w(z)
    wt = d(w, T)(z)
    _, wy = taylor(w, z, Y, 1)
    _, wx = taylor(w, z, X, 1)
    lap = laplacian(w, z, (Y, X))
    force = p["forcing_amplitude"] * jnp.sin(2 * jnp.pi * p["forcing_mode"] * z[Y])
    ru = wt[0] + u * wx[0] + v * wy[0] + wx[2] - p["nu"] * lap[0] - force
    rv = wt[1] + u * wx[1] + v * wy[1] + wy[2] - p["nu"] * lap[1]
    return [ru, rv, wx[0] + wy[1]]


def vorticity(w, z):
    return d(w, X)(z)[1] - d(w, Y)(z)[0]


def build(data):
    return from_benchmark("kolmogorov", data, residual, ("u", "v", "p"), equations=("res_u", "res_v", "res_c"),
                          initial_fields=("u", "v"), derived={"w": vorticity},
                          presets={"paper": soap_paper(width=384, windows=25, steps=20_000),
                                   "quick": soap_quick(windows=2)})
