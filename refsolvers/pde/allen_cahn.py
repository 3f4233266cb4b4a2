"""Allen-Cahn: u_t = d u_xx + a (u - u^3) on x in [-1, 1) periodic, u0 = x^2 cos(pi x).

`d` multiplies the diffusion, `a` the reaction. Defaults (d=1e-4, a=5) are the SOAP-PINN benchmark.
u0 has a slope jump across the periodic boundary, so its Fourier coefficients are computed exactly
(quadrature) rather than sampled (sampling caps the accuracy near 1e-5 at N=512).
"""

from dataclasses import dataclass

import numpy as np

from .._spectral import SemilinearPDE, spectral_benchmark

EQUATION = "u_t = d u_xx + a (u - u^3), x in [-1,1] periodic, u(0,x) = x^2 cos(pi x)"
PARAMS = {"d": 1e-4, "a": 5.0}


def initial(x, xp=np):
    """u0(x) = x^2 cos(pi x); `xp` is the array module (numpy here, jax.numpy for the PINN's hard constraint)."""
    return x**2 * xp.cos(xp.pi * x)


@dataclass(frozen=True)
class AllenCahn(SemilinearPDE):
    """The PDE as data: L = a - d k^2, N = -a u^3."""

    d: float
    a: float

    def linear(self, grid):
        (k,) = grid.wavenumbers()
        return (-self.d * k**2 + self.a)[None]

    def nonlinear(self, u_hat, grid):
        return -self.a * grid.to_spectral(grid.to_physical(u_hat) ** 3)

    def initial(self, x):
        return initial(x)[None]


BENCHMARK = spectral_benchmark(
    AllenCahn, name="allen_cahn", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"n": 2048, "dt": 2e-4, "dealias": False},
    convergence={"self_convergence_2n_half_dt": 1.19e-09, "command": "python scripts/convergence_study.py allen_cahn"},
    quick={"n": 256, "dt": 1e-3, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    periodic=("x",), metric_fields=("u",),
)
