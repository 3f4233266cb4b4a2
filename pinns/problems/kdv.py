"""Korteweg-de Vries: u_t + u u_x + delta^2 u_xxx = 0 on x in [-1, 1] periodic, u0 from the dataset."""

from refsolvers.pde.korteweg_de_vries import initial

from ._base import initial_1d, d, from_benchmark, taylor
from ._presets import accurate, soap_paper, soap_quick

T, X = 0, 1


def residual(u, p, z):
    """(1,): u_t + u u_x + delta^2 u_xxx at z = (t, x)."""
    v, ux, _, uxxx = taylor(u, z, X, 3)
    return d(u, T)(z) + v * ux + p["delta"] ** 2 * uxxx


def build(data):
    return from_benchmark("kdv", data, residual, ("u",), initial_fn=initial_1d(initial), presets={"paper": soap_paper(), "quick": soap_quick(),
                                   "accurate": accurate(qn_steps=6000, lm_steps=150)})
