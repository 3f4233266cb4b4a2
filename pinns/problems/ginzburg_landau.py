"""Complex Ginzburg-Landau: A_t = eps Lap A + mu A - gamma A |A|^2, A = u + i v, gamma = gamma_re + i gamma_im."""

from ._base import d, from_benchmark, laplacian
from ._presets import soap_paper, soap_quick

T, Y, X = 0, 1, 2


def residual(w, p, z):
    """(2,): real and imaginary parts of A_t - eps Lap A - mu A + gamma A |A|^2 at z = (t, y, x)."""
    u, v = w(z)
    wt = d(w, T)(z)
    lap = laplacian(w, z, (Y, X))
    a2 = u * u + v * v
    gr, gi = p["gamma_re"], p["gamma_im"]
    ru = wt[0] - p["eps"] * lap[0] - p["mu"] * u + a2 * (gr * u - gi * v)
    rv = wt[1] - p["eps"] * lap[1] - p["mu"] * v + a2 * (gr * v + gi * u)
    return [ru, rv]


def build(data):
    return from_benchmark("ginzburg_landau", data, residual, ("u", "v"), equations=("res_u", "res_v"),
                          presets={"paper": soap_paper(activation="swish", windows=5),
                                   "quick": soap_quick(activation="swish", windows=1)})
