"""Allen-Cahn: u_t - d u_xx - a (u - u^3) = 0 on x in [-1, 1] periodic, u0 from the dataset."""

from refsolvers.pde.allen_cahn import initial

from ._base import initial_1d, d, from_benchmark, taylor
from ._presets import accurate, soap_paper, soap_quick

T, X = 0, 1


def residual(u, p, z):
    """(1,): u_t - d u_xx - a (u - u^3) at z = (t, x)."""
    v, _, uxx = taylor(u, z, X, 2)
    return d(u, T)(z) - p["d"] * uxx - p["a"] * (v - v**3)


def build(data):
    return from_benchmark("allen_cahn", data, residual, ("u",), initial_fn=initial_1d(initial),
                          presets={"paper": soap_paper(steps=300_000, decay_steps=5000), "quick": soap_quick(),
                                   "accurate": accurate(qn_steps=6000, lm_steps=150)})
