"""Korteweg-de Vries: u_t + u u_x + delta^2 u_xxx = 0 on x in [-1, 1) periodic, u0 = cos(pi x).

`delta` multiplies the dispersion (delta^2 u_xxx). Default delta = 0.022 (Zabusky-Kruskal, SOAP-PINN).
The linear symbol L = i delta^2 k^3 is purely imaginary: the ETDRK4 coefficients stay complex.
"""

import numpy as np

from .._grid import PeriodicGrid
from .._spectral import SpectralProblem, solve_spectral
from ..benchmarks import Benchmark

EQUATION = "u_t + u u_x + delta^2 u_xxx = 0, x in [-1,1] periodic, u(0,x) = cos(pi x)"
PARAMS = {"delta": 0.022}


def initial(x, xp=np):
    """u0(x) = cos(pi x); `xp` is the array module (numpy here, jax.numpy for the PINN's hard constraint)."""
    return xp.cos(xp.pi * x)


def make_problem(params: dict, n: int, dealias: bool) -> SpectralProblem:
    grid = PeriodicGrid((n,), (2.0,), (-1.0,))
    (k,) = grid.wavenumbers()
    linear = (1j * params["delta"] ** 2 * k**3)[None]
    mask = grid.mode_mask(2 / 3 if dealias else 1.0)
    coef = -0.5j * k * mask

    def nonlinear(u_hat):
        u = grid.to_physical(u_hat)
        return coef * grid.to_spectral(u**2)

    return SpectralProblem(grid, linear, nonlinear, grid.project(initial)[None], lambda x: initial(x)[None],
                           ("u",), 2 / 3 if dealias else 1.0)


BENCHMARK = Benchmark(
    name="kdv", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 512, "dt": 2e-5, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 1.25e-11, "command": "python scripts/convergence_study.py kdv"},
    quick={"n": 256, "dt": 1e-4, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    solve=lambda p, s, c, progress: solve_spectral(make_problem, p, s, c, progress, "kdv"),
    periodic=("x",), metric_fields=("u",),
)
