"""Complex Ginzburg-Landau: A_t = eps Lap A + mu A - gamma A |A|^2, A = u + i v, on [-1, 1)^2 periodic.

`eps` is the diffusivity, `mu` the linear growth rate, gamma = gamma_re + i gamma_im the complex
cubic coefficient. Defaults (eps=0.004, mu=10, gamma=10+15i) and A0 = (10y + 10ix) exp(-25(x^2+y^2))
are the SOAP-PINN benchmark. Solved as the real pair (u, v): L = eps Lap + mu on both, and
N(u, v) = -|A|^2 (gamma_re u - gamma_im v, gamma_re v + gamma_im u).
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._spectral import SemilinearPDE, spectral_benchmark

EQUATION = ("A_t = eps Lap A + mu A - gamma A |A|^2, A = u + i v, gamma = gamma_re + i gamma_im, "
            "(x,y) in [-1,1]^2 periodic, A0 = (10y + 10ix) exp(-25(x^2+y^2))")
PARAMS = {"eps": 0.004, "mu": 10.0, "gamma_re": 10.0, "gamma_im": 15.0}


def initial_fields(y, x):
    g = np.exp(-25 * (x**2 + y**2))
    return np.stack([10 * y * g, 10 * x * g])


@dataclass(frozen=True)
class GinzburgLandau(SemilinearPDE):
    """The PDE as data, as the real pair (u, v): L = mu - eps |k|^2 on both, N = -|A|^2 (gamma A) split."""

    eps: float
    mu: float
    gamma_re: float
    gamma_im: float
    field_names: ClassVar[tuple] = ("u", "v")

    def linear(self, grid):
        lin = -self.eps * grid.wavenumber_squared() + self.mu
        return np.stack([lin, lin])

    def nonlinear(self, state_hat, grid):
        u, v = grid.to_physical(state_hat)
        a2 = u * u + v * v
        gr, gi = self.gamma_re, self.gamma_im
        return grid.to_spectral(np.stack([-a2 * (gr * u - gi * v), -a2 * (gr * v + gi * u)]))

    def initial(self, y, x):
        return initial_fields(y, x)


BENCHMARK = spectral_benchmark(
    GinzburgLandau, name="ginzburg_landau", equation=EQUATION, fields=("u", "v"), params=PARAMS,
    solver={"n": 256, "dt": 1e-3, "dealias": False},
    convergence={"space_256_vs_512": 2.60e-10, "time_1e-3_vs_5e-4": 4.99e-9,
                 "command": "python scripts/convergence_study.py ginzburg_landau"},
    quick={"n": 64, "dt": 2e-3, "nt": 11, "nx": 64, "ny": 64},
    output={"t": (0.0, 1.0, 101), "y": (-1.0, 1.0, 200), "x": (-1.0, 1.0, 200)},
    periodic=("x", "y"), metric_fields=("u",),
)
