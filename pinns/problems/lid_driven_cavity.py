"""Steady lid-driven cavity: (u.grad)u + grad p - Lap u / Re = 0, div u = 0 on [0, 1]^2.

Walls: u = v = 0; lid y = 1: u = 1 - cosh(50 (x - 1/2)) / cosh(25) (``lid="smooth"``) or 1
(``lid="uniform"``), v = 0 (the profiles of `refsolvers.pde.lid_driven_cavity`). Re and the lid
come from the dataset. Metric: relative L2 of the velocity magnitude ("speed").
"""

import jax.numpy as jnp
import numpy as np

from ._base import Reference, from_benchmark, laplacian, taylor
from ._presets import soap_paper, soap_quick

Y, X = 0, 1


def residual(w, p, z):
    """(3,): x- and y-momentum and continuity at z = (y, x); w(z) = (u, v, p)."""
    u, v, _ = w(z)
    _, wy = taylor(w, z, Y, 1)
    _, wx = taylor(w, z, X, 1)
    lap = laplacian(w, z, (Y, X))
    nu = 1.0 / p["re"]
    ru = u * wx[0] + v * wy[0] + wx[2] - nu * lap[0]
    rv = u * wx[1] + v * wy[1] + wy[2] - nu * lap[1]
    return [ru, rv, wx[0] + wy[1]]


def lid_profile(lid: str):
    if lid == "uniform":
        return lambda x: jnp.ones_like(x)
    if lid == "smooth":
        return lambda x: 1.0 - jnp.cosh(50.0 * (x - 0.5)) / jnp.cosh(25.0)
    raise ValueError(f"lid_driven_cavity: unknown lid {lid!r}")


def speed(w, z):
    u, v = w(z)[:2]
    return jnp.sqrt(u * u + v * v)


def build(data):
    problem = from_benchmark("lid_driven_cavity", data, residual, ("u", "v", "p"),
                             equations=("res_u", "res_v", "res_c"), bc_fields=("u", "v"),
                             presets={"paper": soap_paper(depth=4, rff_scale=10.0, steps=200_000),
                                      "quick": soap_quick(rff_scale=10.0)})
    lid = lid_profile(problem.params.get("lid", "smooth"))
    top = problem.domain["y"][1]

    def dirichlet(z):
        on_lid = z[Y] >= top
        return jnp.stack([jnp.where(on_lid, lid(z[X]), 0.0), jnp.zeros_like(z[X])])

    ref = problem.reference
    fields = {**ref.fields, "speed": np.hypot(ref.fields["u"], ref.fields["v"])}
    return problem.replace(dirichlet=dirichlet, reference=Reference(ref.coords, fields),
                           derived={"speed": speed}, metric_fields=("speed",))
