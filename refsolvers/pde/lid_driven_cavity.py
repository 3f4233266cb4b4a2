"""Steady lid-driven cavity: incompressible Navier-Stokes in [0,1]^2, lid at y = 1.

    (u.grad) u + grad p = (1/Re) lap u,   div u = 0,   u = v = 0 on the walls except the lid,
    lid y = 1: u = 1 - cosh(50 (x - 1/2)) / cosh(25) (``lid="smooth"``, default) or u = 1
    (``lid="uniform"``, Ghia et al. 1982), v = 0.

Method (picked by measurement, see ``scripts/ldc_study.py``): second-order finite volumes on a
uniform staggered (MAC) grid (`refsolvers._mac`) -- u on vertical faces, v on horizontal faces, p at
cell centres, central (energy-conserving) convective fluxes, no-slip by quadratic ghost values -- and
the *steady* discrete equations solved by Newton's method with pseudo-transient continuation
(`refsolvers._newton`: implicit Euler in a pseudo time whose step grows as the residual falls,
"switched evolution relaxation"; each step is one sparse LU solve of the full Jacobian, factors
reused while they still cut the residual 4x).  Grid
sequencing 32 -> 64 -> ... -> n/2 -> n: the coarsest grid starts from rest, each finer grid starts from
the interpolated coarser solution and needs one or two factorisations.  The n/2 and n/4 solutions
also give the error estimate (Richardson, observed order).

Why not march in time: a projection method on the same grid (AB2 convection, implicit diffusion,
exact DCT projection, dt = h/4) needs 47,000 steps (t = 184) to bring max|du/dt| below 1e-8 at
Re = 1000, n = 64: 96 s of CPU against about 1 s for Newton, and the step count grows like n.
Cost of the default n = 512, Re = 5000 (smoothed lid) run (CPU time, peak memory): datasets/README.md.

Steady residual: ``max|du/dt|`` of the discrete Navier-Stokes right-hand side after projection onto
divergence-free fields (what one explicit projection step would measure as max|delta u|/delta t),
computed at the final state.

Output: u, v, p on the output grid (axes y, x), both ends included: wall values are exact (no-slip,
lid profile; the uniform lid's top corners take the lid value 1), interior values by bicubic
interpolation of the staggered fields (with their exact wall values); p is extrapolated to the walls
by the same spline and shifted to zero mean over the output grid.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import RectBivariateSpline

from .._mac import MACGrid
from .._newton import newton_solve
from ..benchmarks import Benchmark

EQUATION = ("(u.grad)u + grad p = (1/Re) lap u, div u = 0 in [0,1]^2 (steady); u = v = 0 on x = 0, x = 1, "
            "y = 0; lid y = 1: v = 0, u = 1 - cosh(50(x - 1/2))/cosh(25) (lid=smooth) or u = 1 (lid=uniform)")
PARAMS = {"re": 5000.0, "lid": "smooth"}
LIDS = ("smooth", "uniform")

# Coarsest admissible grid: n >= MIN_CELLS_PER_SQRT_RE * sqrt(Re) cells per side (and >= 16), i.e. the
# wall boundary layers (thickness ~ 1/sqrt(Re)) get about two cells; see `check_params`. Measured: at that
# limit the centreline extrema are still off by ~2-4 % of the lid speed (Re 1000: n = 64, Re 5000: n = 142).
MIN_CELLS_PER_SQRT_RE = 2.0
MIN_CELLS = 16


def lid_velocity(x, lid: str = "smooth"):
    """Lid speed u(x, y=1): the smoothed profile (continuous at the corners) or 1."""
    x = np.asarray(x, dtype=float)
    if lid == "uniform":
        return np.ones_like(x)
    return 1.0 - np.cosh(50.0 * (x - 0.5)) / np.cosh(25.0)


def check_params(params: dict, solver: dict) -> None:
    """ValueError (one line, with the reason) for inputs the solver refuses, before any work."""
    re = params["re"]
    if isinstance(re, bool) or not isinstance(re, (int, float, np.integer, np.floating)) or not (math.isfinite(re) and re > 0):
        raise ValueError(f"lid_driven_cavity: re must be a positive finite number, got {re!r}")
    if params["lid"] not in LIDS:
        raise ValueError(f"lid_driven_cavity: lid must be one of {', '.join(LIDS)}, got {params['lid']!r}")
    n, coarsest = solver["n"], solver.get("coarsest", 32)
    for key, value in (("n", n), ("coarsest", coarsest)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"lid_driven_cavity: {key} must be a positive integer, got {value!r}")
    need = min_cells(re)
    if n < need:
        raise ValueError(f"lid_driven_cavity: grid too coarse for Re={re:g}: n={n} cells per side, need "
                         f"n >= max({MIN_CELLS}, {MIN_CELLS_PER_SQRT_RE:g} sqrt(Re)) = {need} "
                         "(about two cells across the ~1/sqrt(Re) wall boundary layers)")
    if n % 2:
        raise ValueError(f"lid_driven_cavity: n must be even, got {n} (the error estimate compares with the n/2 grid)")
    for key in ("tol", "dtau0"):
        value = solver.get(key, 1.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ValueError(f"lid_driven_cavity: {key} must be a positive number, got {value!r}")
    max_iter = solver.get("max_iter", 1)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"lid_driven_cavity: max_iter must be a positive integer, got {max_iter!r}")


def min_cells(re: float) -> int:
    """Smallest grid (cells per side) accepted for Reynolds number `re`: max(16, 2 sqrt(Re))."""
    return max(MIN_CELLS, math.ceil(MIN_CELLS_PER_SQRT_RE * math.sqrt(re)))


def grid_sequence(n: int, coarsest: int = 32) -> list:
    """Grids of the sequence, coarsest first: n, n/2, n/4, ... while even and >= `coarsest` (n/2 always)."""
    grids = [n, n // 2]
    while grids[-1] % 2 == 0 and grids[-1] // 2 >= coarsest:
        grids.append(grids[-1] // 2)
    return grids[::-1]


class CavityProblem(MACGrid):
    """The discrete steady MAC equations (`refsolvers._mac`) on an n x n grid, residual and Jacobian.

    Unknowns: the state vector q = [u, v, p] of `MACGrid`, with the lid profile as the top wall's velocity.
    One continuity equation (cell (0,0)) is redundant and replaced by p[0,0] = 0.
    """

    name = "lid_driven_cavity"

    def __init__(self, n: int, re: float, lid: str):
        super().__init__(n, lid_velocity(np.arange(1, n) * (1.0 / n), lid))
        self.re, self.lid = float(re), lid
        self.nu = 1.0 / self.re

    @property
    def residual_floor(self) -> float:
        """Round-off level of the residual, 100 eps (8 nu / h^2 + 4 / h) (it matters only for Re << 1)."""
        return 100 * np.finfo(float).eps * (8 * self.nu / self.h**2 + 4 / self.h)

    def momentum(self, u, v, p):
        """Momentum residuals (steady: 0 = r), r = (u.grad)u + grad p - nu lap u, at u and v points."""
        cu, cv = self.convection(u, v)
        ru = cu + self.grad_x @ p - self.nu * (self.lap_u @ u + self.lap_u_bc)
        rv = cv + self.grad_y @ p - self.nu * (self.lap_v @ v)
        return ru, rv

    def residual(self, q):
        """Momentum and continuity residuals (p[0, 0] = 0 in place of the redundant continuity row)."""
        u, v, p = self.split(q)
        ru, rv = self.momentum(u, v, p)
        rc = self.div_u @ u + self.div_v @ v
        rc[0] = p[0]
        return np.concatenate([ru, rv, rc])

    def jacobian(self, q):
        """Sparse (CSC) Jacobian of `residual` at q."""
        u, v, _ = self.split(q)
        diag = sp.diags
        uc, uk, vk = self.ux_c @ u, self.uy_k @ u + self.uy_k_bc, self.vx_k @ v
        vc, vk2, uk2 = self.vy_c @ v, self.vx_k2 @ v, self.ux_k2 @ u
        juu = self.dx_u @ diag(2 * uc) @ self.ux_c + self.dy_u @ diag(vk) @ self.uy_k - self.nu * self.lap_u
        juv = self.dy_u @ diag(uk) @ self.vx_k
        jvu = self.dx_v @ diag(vk2) @ self.ux_k2
        jvv = self.dx_v @ diag(uk2) @ self.vx_k2 + self.dy_v @ diag(2 * vc) @ self.vy_c - self.nu * self.lap_v
        pin = sp.csr_matrix(([1.0], ([0], [0])), shape=(self.n_p, self.n_p))
        keep = sp.diags(np.r_[0.0, np.ones(self.n_p - 1)])
        return sp.bmat([[juu, juv, self.grad_x], [jvu, jvv, self.grad_y],
                        [keep @ self.div_u, keep @ self.div_v, pin]], format="csc")

    def steady_residual(self, q) -> float:
        """max |du/dt| of the projected discrete right-hand side (max|delta u|/delta t of one explicit step)."""
        u, v, p = self.split(q)
        pu, pv = self.project(*self.momentum(u, v, p))
        return float(max(np.abs(pu).max(), np.abs(pv).max()))


# --------------------------------------------------------------------------------------------------
# staggered fields <-> points


def _wall_extended(n: int, q, lid: str):
    """The three fields on their staggered node sets extended by the exact wall values.

    Returns dict name -> (y nodes, x nodes, values (len y, len x)).
    """
    h = 1.0 / n
    n_u = n_v = n * (n - 1)
    u = q[:n_u].reshape(n, n - 1)
    v = q[n_u: n_u + n_v].reshape(n - 1, n)
    p = q[n_u + n_v:].reshape(n, n)
    centres = (np.arange(n) + 0.5) * h
    nodes = np.linspace(0.0, 1.0, n + 1)
    yc = np.r_[0.0, centres, 1.0]
    ue = np.zeros((n + 2, n + 1))
    ue[1:-1, 1:-1] = u
    ue[-1] = lid_velocity(nodes, lid)                 # lid row, corners included
    ve = np.zeros((n + 1, n + 2))
    ve[1:-1, 1:-1] = v
    return {"u": (yc, nodes, ue), "v": (nodes, yc, ve), "p": (centres, centres, p)}


def evaluate(n: int, q, lid: str, y, x) -> dict:
    """Fields of the n-grid state q at the points y (rows) x (columns): dict u, v, p of (len y, len x).

    Bicubic interpolation of the wall-extended staggered fields; points on a wall get the exact
    boundary values (no-slip; lid profile on y = 1, corners included); p is extrapolated to the walls
    by the end spline pieces (no mean shift here).
    """
    y, x = np.asarray(y, float), np.asarray(x, float)
    out = {}
    for name, (yn, xn, val) in _wall_extended(n, q, lid).items():
        spline = RectBivariateSpline(yn, xn, val, bbox=[0.0, 1.0, 0.0, 1.0], kx=3, ky=3, s=0)
        out[name] = spline(y, x)
    for name in ("u", "v"):
        f = out[name]
        f[:, (x == 0.0) | (x == 1.0)] = 0.0
        f[y == 0.0, :] = 0.0
        f[y == 1.0, :] = lid_velocity(x, lid) if name == "u" else 0.0
    return out


def prolong(n_coarse: int, q, lid: str, n_fine: int) -> np.ndarray:
    """Interpolate a coarse-grid state onto the staggered points of a finer grid (initial guess)."""
    h = 1.0 / n_fine
    centres = (np.arange(n_fine) + 0.5) * h
    inner = np.arange(1, n_fine) * h
    f = {}
    for name, (yn, xn, val) in _wall_extended(n_coarse, q, lid).items():
        f[name] = RectBivariateSpline(yn, xn, val, bbox=[0.0, 1.0, 0.0, 1.0], kx=3, ky=3, s=0)
    return np.concatenate([f["u"](centres, inner).ravel(), f["v"](inner, centres).ravel(),
                           f["p"](centres, centres).ravel()])


# --------------------------------------------------------------------------------------------------


def _rel_l2(a, b):
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / nb) if nb > 0 else float(np.linalg.norm(a - b))


@dataclass
class CavitySolution:
    """A converged discrete solution: grid `n`, state vector `q` (see `CavityProblem`), lid kind."""

    n: int
    q: np.ndarray
    lid: str
    stats: dict

    def __call__(self, y, x) -> dict:
        """u, v, p at the points y (rows) x (columns), arrays (len y, len x); p not mean-shifted."""
        return evaluate(self.n, self.q, self.lid, np.atleast_1d(np.asarray(y, float)), np.atleast_1d(np.asarray(x, float)))


def solve_sequence(params: dict, solver: dict, progress: bool = True) -> list:
    """Converged solutions on the grids of `grid_sequence(n, coarsest)`, coarsest first; see `solve`.

    The coarsest grid starts from rest (pseudo-transient continuation from dtau0); every finer grid
    starts from the interpolated coarser solution (dtau = 1e3: practically Newton from the start).
    Only the finest grid must pass the resolution check; the coarse ones are helpers.
    """
    check_params(params, solver)
    re, lid = float(params["re"]), params["lid"]
    tol, dtau0 = float(solver.get("tol", 1e-8)), float(solver.get("dtau0", 0.1))
    max_iter = int(solver.get("max_iter", 400))
    sols = []
    for m in grid_sequence(int(solver["n"]), int(solver.get("coarsest", 32))):
        problem = CavityProblem(m, re, lid)
        q0 = np.zeros(problem.size) if not sols else prolong(sols[-1].n, sols[-1].q, lid, m)
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # rejected trials are handled, not warned
            q, stats = newton_solve(problem, q0, tol=tol, dtau0=dtau0 if not sols else 1e3, max_iter=max_iter,
                                    progress=progress, desc=f"lid_driven_cavity Re={re:g} n={m}")
        stats.pop("history")
        sols.append(CavitySolution(m, q, lid, {"n": m, **stats, "wall_s": round(time.perf_counter() - t0, 3)}))
    return sols


def solve(params: dict, solver: dict, coords: dict, progress: bool = True) -> tuple:
    """Steady cavity flow on the output grid.

    Args:
        params: {"re": Reynolds number, "lid": "smooth" | "uniform"}.
        solver: {"n": cells per side of the finest grid (even), "coarsest": smallest grid of the
            sequence n, n/2, n/4, ... (see `grid_sequence`), "tol": stop when max|du/dt| < tol,
            "dtau0": first pseudo time step on the coarsest grid, "max_iter": iterations per grid}.
        coords: {"y": (ny,), "x": (nx,)} output points.
    Returns:
        (fields, info): fields u, v, p of shape (ny, nx); info has method, grid, residual,
        iterations and "error_estimate".
    """
    start = time.perf_counter()
    sols = solve_sequence(params, solver, progress)
    y, x = np.asarray(coords["y"], float), np.asarray(coords["x"], float)
    outputs = []
    for sol in sols:
        f = sol(y, x)
        f["p"] = f["p"] - f["p"].mean()
        outputs.append(f)
    per_grid = [s.stats for s in sols]
    grids = [s.n for s in sols]
    final = per_grid[-1]
    info = {"method": ("second-order finite volumes on a uniform staggered (MAC) grid, central convective fluxes; "
                       "steady equations solved by Newton's method with pseudo-transient continuation "
                       "(sparse LU, SuperLU), grid sequencing " + " -> ".join(map(str, grids))),
            "grid": f"{grids[-1]}x{grids[-1]} cells (MAC)", "n": grids[-1], "grids": grids,
            "re": float(params["re"]), "lid": params["lid"],
            "residual": final["residual"],
            "residual_definition": ("max|du/dt| of the projected discrete momentum right-hand side at the final "
                                    "state (= max|delta u|/delta t of one explicit projection step)"),
            "divergence": final["divergence"], "iterations": final["iterations"],
            "iterations_total": sum(g["iterations"] for g in per_grid), "per_grid": per_grid,
            "tol": float(solver.get("tol", 1e-8)), "solve_wall_s": round(time.perf_counter() - start, 3),
            "output_evaluation": ("bicubic spline through the staggered values and the exact wall values; "
                                  "p extrapolated to the walls, zero mean over the output grid")}
    info["error_estimate"] = error_estimate(outputs, grids)
    return outputs[-1], info


def error_estimate(outputs: list, grids: list) -> dict:
    """Richardson estimate of the finest solution's error from the grid sequence (second order).

    err(n) ~ |f_n - f_{n/2}| / (2^2 - 1) on the output grid; with three grids also the observed order
    log2(|f_{n/4} - f_{n/2}| / |f_{n/2} - f_n|) per field, in the L2 norm over the output grid and in
    the max norm. The max norm is dominated by the two top corners, where the smoothed lid's slope
    (du/dx = -+50) meets the no-slip side wall: the velocity converges there, more slowly, and the
    pressure at the corner point itself is direction-dependent (bounded but discontinuous) in the
    continuous problem, so p's max-norm differences do not shrink; its L2 ones do.
    """
    fine, mid = outputs[-1], outputs[-2]
    speed = lambda f: np.hypot(f["u"], f["v"])  # noqa: E731
    est = {"per_field_max_abs": {k: float(np.abs(fine[k] - mid[k]).max() / 3) for k in ("u", "v", "p")},
           "per_field_rel_l2": {k: _rel_l2(fine[k], mid[k]) / 3 for k in ("u", "v", "p")},
           "speed_rel_l2": _rel_l2(speed(fine), speed(mid)) / 3,
           "compared_grids": grids[-2:]}
    if len(outputs) >= 3:
        coarse = outputs[-3]
        order = lambda d1, d2: float(np.log2(d1 / d2)) if d1 > 0 and d2 > 0 else None  # noqa: E731
        est["observed_order_l2"] = {k: order(np.linalg.norm(coarse[k] - mid[k]), np.linalg.norm(mid[k] - fine[k]))
                                    for k in ("u", "v", "p")}
        est["observed_order_max_norm"] = {k: order(np.abs(coarse[k] - mid[k]).max(), np.abs(mid[k] - fine[k]).max())
                                          for k in ("u", "v", "p")}
        est["order_grids"] = grids[-3:]
    est["total"] = est["speed_rel_l2"]
    est["definition"] = ("Richardson: |f(n) - f(n/2)| / 3 on the output grid (second-order scheme); total = "
                         "relative L2 of the velocity magnitude sqrt(u^2+v^2) (the paper's LDC metric)")
    return est


BENCHMARK = Benchmark(
    name="lid_driven_cavity", equation=EQUATION, fields=("u", "v", "p"), params=PARAMS,
    solver={"n": 512, "coarsest": 32, "tol": 1e-8, "dtau0": 0.1, "max_iter": 400},
    quick={"re": 100.0, "n": 32},
    output={"y": (0.0, 1.0, 128), "x": (0.0, 1.0, 128)},
    solve=solve, metric_fields=("u", "v"),
)
