"""Viscous Burgers: u_t + u u_x = nu u_xx, x in [-1, 1], u(+-1) = 0, u0 = -sin(pi x).

`nu` is the viscosity; default 0.01/pi (Raissi et al., SOAP-PINN). The solution is odd and
2-periodic, so the Dirichlet problem equals the periodic one: this module is the Fourier/ETDRK4
cross-check of the exact Cole-Hopf solution (`refsolvers.exact.burgers`), which writes the dataset.
"""

import numpy as np

from .._grid import PeriodicGrid
from .._spectral import SpectralProblem, solve_spectral
from ..benchmarks import Benchmark

EQUATION = "u_t + u u_x = nu u_xx, x in [-1,1], u(t,-1) = u(t,1) = 0, u(0,x) = -sin(pi x)"
PARAMS = {"nu": 0.01 / np.pi}


def initial(x):
    return -np.sin(np.pi * x)


def make_problem(params: dict, n: int, dealias: bool) -> SpectralProblem:
    grid = PeriodicGrid((n,), (2.0,), (-1.0,))
    (k,) = grid.wavenumbers()
    linear = (-params["nu"] * k**2)[None]
    mask = grid.mode_mask(2 / 3 if dealias else 1.0)
    coef = -0.5j * k * mask

    def nonlinear(u_hat):
        u = grid.to_physical(u_hat)
        return coef * grid.to_spectral(u**2)

    return SpectralProblem(grid, linear, nonlinear, grid.project(initial)[None], lambda x: initial(x)[None],
                           ("u",), 2 / 3 if dealias else 1.0)


BENCHMARK = Benchmark(
    name="burgers", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 4096, "dt": 1e-5, "dealias": False},
    quick={"n": 1024, "dt": 1e-4, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    solve=lambda p, s, c, progress: solve_spectral(make_problem, p, s, c, progress, "burgers"),
    metric_fields=("u",),
)
