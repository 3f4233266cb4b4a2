"""Korteweg-de Vries: u_t + u u_x + delta^2 u_xxx = 0 on x in [-1, 1) periodic, u0 = cos(pi x).

`delta` multiplies the dispersion (delta^2 u_xxx). Default delta = 0.022 (Zabusky-Kruskal, SOAP-PINN).
The linear symbol L = i delta^2 k^3 is purely imaginary: the ETDRK4 coefficients stay complex.
"""

from dataclasses import dataclass

import numpy as np

from .._spectral import ConservativeAdvection, SemilinearPDE, spectral_benchmark

EQUATION = "u_t + u u_x + delta^2 u_xxx = 0, x in [-1,1] periodic, u(0,x) = cos(pi x)"
PARAMS = {"delta": 0.022}


def initial(x, xp=np):
    """u0(x) = cos(pi x); `xp` is the array module (numpy here, jax.numpy for the PINN's hard constraint)."""
    return xp.cos(xp.pi * x)


@dataclass(frozen=True)
class KortewegDeVries(ConservativeAdvection, SemilinearPDE):
    """The PDE as data: L = i delta^2 k^3, N = -(u^2)_x / 2."""

    delta: float

    def linear(self, grid):
        (k,) = grid.wavenumbers()
        return (1j * self.delta**2 * k**3)[None]

    def initial(self, x):
        return initial(x)[None]


BENCHMARK = spectral_benchmark(
    KortewegDeVries, name="kdv", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 512, "dt": 2e-5, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 1.25e-11, "command": "python scripts/convergence_study.py kdv"},
    quick={"n": 256, "dt": 1e-4, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    periodic=("x",), metric_fields=("u",),
)
