"""Kuramoto-Sivashinsky: u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0, x in [0, 2 pi] periodic.

As in the SOAP-PINN paper, the PINN trains (and is compared) on t <= 0.8 of the dataset.
"""

from ._base import d, from_benchmark, taylor
from ._presets import soap_paper, soap_quick

T, X = 0, 1
T_MAX = 0.8


def residual(u, p, z):
    """(1,): u_t + alpha u u_x + beta u_xx + gamma u_xxxx at z = (t, x)."""
    v, ux, uxx, _, uxxxx = taylor(u, z, X, 4)
    return d(u, T)(z) + p["alpha"] * v * ux + p["beta"] * uxx + p["gamma"] * uxxxx


def build(data):
    return from_benchmark("ks", data, residual, ("u",), t_max=T_MAX,
                          presets={"paper": soap_paper(windows=10), "quick": soap_quick(windows=2)})
