"""Burgers: u_t + u u_x - nu u_xx = 0 on x in [-1, 1], u(t, +-1) = 0, u0 from the dataset (-sin pi x)."""

from refsolvers.pde.burgers import initial

from ._base import initial_1d, d, from_benchmark, taylor
from ._presets import accurate, soap_paper, soap_quick

T, X = 0, 1


def residual(u, p, z):
    """(1,): u_t + u u_x - nu u_xx at one point z = (t, x)."""
    v, ux, uxx = taylor(u, z, X, 2)
    return d(u, T)(z) + v * ux - p["nu"] * uxx


def build(data=None):
    return from_benchmark("burgers", data, residual, ("u",), initial_fn=initial_1d(initial),
                          presets={"paper": soap_paper(rff_scale=2.0), "quick": soap_quick(),
                                   "accurate": accurate()})
