"""Kuramoto-Sivashinsky: u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0, x in [0, 2 pi) periodic.

`alpha` multiplies the advection, `beta` the anti-diffusion, `gamma` the hyper-diffusion. Defaults
(100/16, 100/16^2, 100/16^4) and u0 = cos x (1 + sin x) are the SOAP-PINN benchmark.
"""

import numpy as np

from .._grid import PeriodicGrid
from .._spectral import SpectralProblem, solve_spectral
from ..benchmarks import Benchmark

EQUATION = ("u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0, x in [0,2pi] periodic, "
            "u(0,x) = cos(x)(1 + sin(x))")
PARAMS = {"alpha": 100 / 16, "beta": 100 / 16**2, "gamma": 100 / 16**4}


def initial(x):
    return np.cos(x) * (1 + np.sin(x))


def make_problem(params: dict, n: int, dealias: bool) -> SpectralProblem:
    grid = PeriodicGrid((n,), (2 * np.pi,), (0.0,))
    (k,) = grid.wavenumbers()
    linear = (params["beta"] * k**2 - params["gamma"] * k**4)[None]
    mask = grid.mode_mask(2 / 3 if dealias else 1.0)
    coef = -0.5j * params["alpha"] * k * mask

    def nonlinear(u_hat):
        u = grid.to_physical(u_hat)
        return coef * grid.to_spectral(u**2)

    return SpectralProblem(grid, linear, nonlinear, grid.project(initial)[None], lambda x: initial(x)[None],
                           ("u",), 2 / 3 if dealias else 1.0)


BENCHMARK = Benchmark(
    name="ks", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 512, "dt": 2e-5, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 9.66e-10, "command": "python scripts/convergence_study.py ks"},
    quick={"n": 128, "dt": 1e-4, "nt": 26, "nx": 128},
    output={"t": (0.0, 1.0, 251), "x": (0.0, 2 * np.pi, 512)},
    solve=lambda p, s, c, progress: solve_spectral(make_problem, p, s, c, progress, "ks"),
    periodic=("x",), metric_fields=("u",),
)
