"""Gray-Scott: u_t = eps1 Lap u + b1 (1 - u) - c1 u v^2, v_t = eps2 Lap v - b2 v + c2 u v^2, periodic square."""

from ._base import d, from_benchmark, laplacian
from ._presets import soap_paper, soap_quick

T, Y, X = 0, 1, 2


def residual(w, p, z):
    """(2,): the u and v equations (right side moved left) at z = (t, y, x)."""
    u, v = w(z)
    wt = d(w, T)(z)
    lap = laplacian(w, z, (Y, X))
    uvv = u * v * v
    ru = wt[0] - p["eps1"] * lap[0] - p["b1"] * (1 - u) + p["c1"] * uvv
    rv = wt[1] - p["eps2"] * lap[1] + p["b2"] * v - p["c2"] * uvv
    return [ru, rv]


def build(data):
    return from_benchmark("gray_scott", data, residual, ("u", "v"), equations=("res_u", "res_v"),
                          presets={"paper": soap_paper(activation="swish", windows=10),
                                   "quick": soap_quick(activation="swish", windows=2)})
