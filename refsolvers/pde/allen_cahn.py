"""Allen-Cahn: u_t = d u_xx + a (u - u^3) on x in [-1, 1) periodic, u0 = x^2 cos(pi x).

`d` multiplies the diffusion, `a` the reaction. Defaults (d=1e-4, a=5) are the SOAP-PINN benchmark.
u0 has a slope jump across the periodic boundary, so its Fourier coefficients are computed exactly
(quadrature) rather than sampled (sampling caps the accuracy near 1e-5 at N=512).
"""

import numpy as np

from .._grid import PeriodicGrid
from .._spectral import SpectralProblem, solve_spectral
from ..benchmarks import Benchmark

EQUATION = "u_t = d u_xx + a (u - u^3), x in [-1,1] periodic, u(0,x) = x^2 cos(pi x)"
PARAMS = {"d": 1e-4, "a": 5.0}


def initial(x, xp=np):
    """u0(x) = x^2 cos(pi x); `xp` is the array module (numpy here, jax.numpy for the PINN's hard constraint)."""
    return x**2 * xp.cos(xp.pi * x)


def make_problem(params: dict, n: int, dealias: bool) -> SpectralProblem:
    grid = PeriodicGrid((n,), (2.0,), (-1.0,))
    (k,) = grid.wavenumbers()
    d, a = params["d"], params["a"]
    linear = (-d * k**2 + a)[None]
    mask = grid.mode_mask(2 / 3 if dealias else 1.0)

    def nonlinear(u_hat):
        u = grid.to_physical(u_hat)
        return -a * grid.to_spectral(u**3) * mask

    return SpectralProblem(grid, linear, nonlinear, grid.project(initial)[None], lambda x: initial(x)[None],
                           ("u",), 2 / 3 if dealias else 1.0)


BENCHMARK = Benchmark(
    name="allen_cahn", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 2048, "dt": 2e-4, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 1.19e-09, "command": "python scripts/convergence_study.py allen_cahn"},
    quick={"n": 256, "dt": 1e-3, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    solve=lambda p, s, c, progress: solve_spectral(make_problem, p, s, c, progress, "allen_cahn"),
    periodic=("x",), metric_fields=("u",),
)
