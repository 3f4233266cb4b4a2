"""Viscous Burgers: u_t + u u_x = nu u_xx, x in [-1, 1], u(+-1) = 0, u0 = -sin(pi x).

`nu` is the viscosity; default 0.01/pi (Raissi et al., SOAP-PINN). The solution is odd and
2-periodic, so the Dirichlet problem equals the periodic one: this module is the Fourier/ETDRK4
cross-check of the exact Cole-Hopf solution (`refsolvers.pde.cole_hopf`), which writes the dataset.
"""

import time
from dataclasses import dataclass

import numpy as np

from .._spectral import ConservativeAdvection, SemilinearPDE, make_problem, march, relative_l2
from ..benchmarks import Benchmark
from .cole_hopf import DEFAULT_NODES, burgers_exact, node_doubling_error, window

EQUATION = "u_t + u u_x = nu u_xx, x in [-1,1], u(t,-1) = u(t,1) = 0, u(0,x) = -sin(pi x)"
PARAMS = {"nu": 0.01 / np.pi}


def initial(x, xp=np):
    """u0(x) = -sin(pi x); `xp` is the array module (numpy here, jax.numpy for the PINN's hard constraint)."""
    return -xp.sin(xp.pi * x)


@dataclass(frozen=True)
class Burgers(ConservativeAdvection, SemilinearPDE):
    """The periodic problem as data (the cross-check): L = -nu k^2, N = -(u^2)_x / 2."""

    nu: float

    def linear(self, grid):
        (k,) = grid.wavenumbers()
        return (-self.nu * k**2)[None]

    def initial(self, x):
        return initial(x)[None]


def exact(params: dict, t, x, nodes: int = DEFAULT_NODES) -> dict:
    """Exact u(t, x) by Cole-Hopf (broadcasting arrays); `nodes` is the quadrature knob."""
    return {"u": burgers_exact(t, x, params["nu"], nodes)}


def solve(params, solver, coords, progress=True):
    """The dataset: exact solution on the output grid, error estimated by doubling the nodes.

    Solver settings: ``nodes`` (trapezoid nodes); ``cross_check`` (bool): also run the Fourier/ETDRK4
    solver at ``check_n`` modes and ``check_dt`` and record its relative L2 difference (20k steps at the
    defaults, 10-30 s). Measured on the full output grid at the defaults (N=4096, dt=5e-5): see
    datasets/README.md; a smaller step is worse (1.5e-12 at dt=1e-5). The spectral floor is round-off
    in the stored exp(L dt) ~ 1 - 1e-7 (relative eps per step, compounding over the steps), not
    resolution: N=2048 gives the same.
    """
    nodes = int(solver["nodes"])
    t, x = np.meshgrid(coords["t"], coords["x"], indexing="ij")
    start = time.perf_counter()
    check = node_doubling_error(t, x, params["nu"], nodes)
    info = {"method": "exact Cole-Hopf by quadrature", "nodes": nodes,
            "quadrature": f"trapezoid, {nodes} nodes on s in [-L, L], L = {window(params['nu']):.6g}, "
                          "eta = sqrt(4 nu t) s, weights exp(E - max E) per point",
            "error_estimate": {"total": check["relative_l2"], "node_doubling_max_abs": check["max_abs"],
                               "definition": f"relative L2 over the output grid of u({nodes} nodes) - "
                                             f"u({2 * nodes} nodes); the trapezoid error decays geometrically "
                                             "in the nodes, so this bounds the quadrature error, and at round-off "
                                             "level it is the round-off"},
            "exact_wall_time_s": round(time.perf_counter() - start, 3)}
    if solver.get("cross_check", False):
        n, dt = int(solver["check_n"]), float(solver["check_dt"])
        if n < 2 or not dt > 0:
            raise ValueError(f"burgers: check_n must be >= 2 and check_dt > 0, got {n}, {dt}")
        values, _, dt_eff, _ = march(make_problem(BENCHMARK, n, params, dealias=False), dt, coords["t"], (coords["x"],),
                                     progress, desc=f"burgers check N={n}")
        info["spectral_cross_check"] = {"n": n, "dt": dt_eff, "relative_l2": relative_l2(values[:, 0], check["u"]),
                                        "method": "Fourier pseudo-spectral + ETDRK4, no dealiasing"}
    return {"u": check["u"]}, info


BENCHMARK = Benchmark(
    name="burgers", equation=EQUATION, fields=("u",), params=PARAMS,
    solver={"nodes": DEFAULT_NODES, "cross_check": False, "check_n": 4096, "check_dt": 5e-5},
    quick={"nodes": 128, "nt": 21, "nx": 128},
    output={"t": (0.0, 1.0, 201), "x": (-1.0, 1.0, 512)},
    solve=solve, exact=exact, pde=Burgers,
    metric_fields=("u",),
)
