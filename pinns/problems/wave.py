"""Wave: u_tt - c^2 u_xx = 0 on x in [0, 1], u(t, 0) = u(t, 1) = 0, u(0, x) from the exact solution, u_t(0, x) = 0."""

from refsolvers.pde.wave import initial

from ._base import initial_1d, from_benchmark, taylor
from ._presets import accurate, soap_paper, soap_quick

T, X = 0, 1


def residual(u, p, z):
    """(1,): u_tt - c^2 u_xx at z = (t, x)."""
    return taylor(u, z, T, 2)[2] - p["c"] ** 2 * taylor(u, z, X, 2)[2]


def build(data=None):
    return from_benchmark("wave", data, residual, ("u",), initial_fn=initial_1d(initial), initial_rate=True,
                          presets={"paper": soap_paper(rff_scale=10.0), "quick": soap_quick(rff_scale=10.0),
                                   "accurate": accurate()})
