"""Kuramoto-Sivashinsky: u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0, x in [0, 2 pi) periodic.

`alpha` multiplies the advection, `beta` the anti-diffusion, `gamma` the hyper-diffusion. Defaults
(100/16, 100/16^2, 100/16^4) and u0 = cos x (1 + sin x) are the SOAP-PINN benchmark.
"""

from dataclasses import dataclass

import numpy as np

from .._spectral import SemilinearPDE, grid_cached, spectral_benchmark

EQUATION = ("u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0, x in [0,2pi] periodic, "
            "u(0,x) = cos(x)(1 + sin(x))")
PARAMS = {"alpha": 100 / 16, "beta": 100 / 16**2, "gamma": 100 / 16**4}


def initial(x):
    return np.cos(x) * (1 + np.sin(x))


@dataclass(frozen=True)
class KuramotoSivashinsky(SemilinearPDE):
    """The PDE as data: L = beta k^2 - gamma k^4, N = -alpha/2 (u^2)_x."""

    alpha: float
    beta: float
    gamma: float

    def linear(self, grid):
        (k,) = grid.wavenumbers()
        return (self.beta * k**2 - self.gamma * k**4)[None]

    @grid_cached
    def _advection(self, grid):
        (k,) = grid.wavenumbers()
        return -0.5j * self.alpha * k

    def nonlinear(self, u_hat, grid):
        return self._advection(grid) * grid.to_spectral(grid.to_physical(u_hat) ** 2)

    def initial(self, x):
        return initial(x)[None]


BENCHMARK = spectral_benchmark(
    KuramotoSivashinsky, name="ks", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 512, "dt": 2e-5, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 9.66e-10, "command": "python scripts/convergence_study.py ks"},
    quick={"n": 128, "dt": 1e-4, "nt": 26, "nx": 128},
    output={"t": (0.0, 1.0, 251), "x": (0.0, 2 * np.pi, 512)},
    periodic=("x",), metric_fields=("u",),
)
