"""Rayleigh-Taylor instability (Boussinesq), Fourier (x) x Chebyshev (y), streamfunction-vorticity, SBDF3.

Equations (buoyancy T e_y, so hot fluid rises; T=1 below the interface is the light fluid under the heavy one)::

    u_t + u.grad u = -grad p + sqrt(Pr/Ra) Lap u + T e_y,   div u = 0,
    T_t + u.grad T = Lap T / sqrt(Pr Ra),

on x in [0, 1) periodic, y in [0, 2], no slip u = v = 0 and T = 0 at y = 0 and y = 2, with no mean
pressure gradient in x. `pr`, `ra` are the Prandtl and Rayleigh numbers: nu = sqrt(pr/ra) multiplies the
viscous term, kappa = 1/sqrt(pr ra) the diffusion of T. Defaults: the SOAP-PINN benchmark (Pr = 0.71,
Ra = 1e6, t in [0, 10], 40 outputs with both ends).

Initial data: u = v = 0 and
``T0 = 1/2 (1 - tanh((y - 1 - eta(x))/delta)) * tanh(y/delta) * tanh((2 - y)/delta)``,
``eta = amplitude * |sin(pi x)|``.

* Interface. The paper's data came from the IncompressibleNavierStokes.jl example `RayleighTaylor2D.jl`
  (T = 1 where y < 1 + sinpi(x)/50). That example has walls at x = 0, 1; our benchmark (paper text,
  docs/design.md) is periodic in x, where sin(pi x) is not 1-periodic. On the domain [0, 1], sin(pi x) = |sin(pi x)|,
  so |sin pi x| is the only periodic choice that agrees with the printed initial condition at every
  point the PINN samples; its slope jumps at x = 0 (Fourier coefficients ~ 1/k^2), handled by projecting
  the initial data exactly (quadrature) onto the kept Fourier modes. ``interface="sin_2pi"`` selects
  the smooth alternative amplitude * sin(2 pi x) (a different problem: two half-waves).
* Smoothing. The step is smoothed with tanh of width `delta` = 0.01 (10-90 % thickness 2.2 delta ~ 0.022,
  about two cells of the 100 x 200 output grid, dy = 2/199), a physical parameter independent of the
  solver resolution. Diffusion widens it to ~0.025 by the first output (t = 0.256), so outputs depend
  on `delta` only weakly.
* Bottom wall. T = 1 below the interface is incompatible with T = 0 at y = 0: the factor tanh(y/delta)
  puts a thin boundary layer there (cold, heavy fluid under warm: stably stratified, it just thickens
  by diffusion, ~sqrt(kappa t) ~ 0.1 at t = 10). At y = 2 the profile is already 0 to e^-200 for the
  default delta; the factor tanh((2 - y)/delta) makes T0 = 0 there exactly for any delta.

Method (`refsolvers.pde._boussinesq`): x Fourier with the 2/3 rule; y Chebyshev-Gauss-Lobatto collocation
of degree `n_cheb`; streamfunction-vorticity (div u = 0 to round-off by construction) with the no-slip
conditions solved exactly by a 2 x 2 influence matrix per Fourier mode, the k = 0 mode as the mean flow U(y).
Time: SBDF3 (`refsolvers._sbdf`; Ascher, Ruuth & Wetton 1995; diffusion implicit, advection explicit,
buoyancy with the new T since T is advanced first), in its variable-step form (Lagrange weights), started
by SBDF1/SBDF2 on `startup_substeps` substeps of each of the first two steps. The step is re-chosen every `CHUNK` = 0.25
(at most; output intervals are cut into equal chunks) so that the advective CFL
h max(|u| k_max + |v| pi/dy_local) stays near `cfl` = 0.3 (SBDF3 is stable to 0.63 on the imaginary axis;
the 1.5 h error companion needs the margin), with h <= `dt` = 1e-3 while the flow is slow.
The initial data are mirror symmetric about x = 0 (|sin|) or x = 1/4 (sin 2 pi x), and so is the exact
solution. Round-off seeds the asymmetric modes, but at the default parameters they only grow from 1e-16 to
2e-13 (relative) by t = 10 (measured at 128 x 128), so the default run is unconstrained;
``symmetric=True`` projects the state onto the symmetry every step (it changes T by 7e-14).

Defaults and measured accuracy (relative L2 over the whole 40 x 200 x 100 output grid; study in
`scripts/rayleigh_taylor_study.py`): n = 128 x points (43 kept modes), n_cheb = 256, h <= 1e-3, cfl = 0.3
(h from 5.2e-4 to 1e-3, 109 s of one loaded core per run; the step count is in datasets/README.md).
Measured: see the registry entry's `convergence` (BENCHMARK below): time, the Richardson value
|T(h) - T(1.5h)| / (1.5^3 - 1); y, against n_cheb = 320; x, against n = 192, for T, u and v (v's error sits in
the late, near-wall flow). Recorded only here: the Richardson estimator checked on 128 x 192 (h <= 2e-3) gives
3.0e-7, and the difference to a run with h/2, times 8/7, is 3.0e-7; T against n_cheb = 320 for n_cheb = 192:
2.9e-7, 128: 1.3e-5, 96: 1.6e-4 (spectral); against n = 192 for n = 96: 2.3e-6. The stored estimate is more
conservative: its time part is the difference itself (2.375 times the Richardson value, `refsolvers._estimate`),
its space part compares with a 3/4 grid (96 x 192), whose own error (x: 2e-6) it reports.

Validation (tests): velocity divergence-free to round-off, no slip and T = 0 at the walls to round-off,
third-order time and spectral space convergence on a coarse smooth case, and the growth rate of the
k = 2 pi mode in the linear phase against `linear_growth_rate` (an independent 4th-order eigen solver)
for the instantaneous (diffusing) mean profile: within 1.2e-3 (Pr = 1, Ra = 1e9, delta = 0.05) and 4.7e-3
(Pr = 0.71, Ra = 1e6, delta = 0.2), the offsets being the frozen-profile approximation. In the default run
the base profile diffuses as fast as the mode grows (delta^2/kappa = 0.08), so the quasi-static rate is
only indicative: measured 1.49 vs 1.38 at t = 1.4 (+8 %); with amplitude 2e-6 (linear) +2.5 % at t = 2.8.

References: `refsolvers.pde._boussinesq` (influence matrix, matrix diagonalisation); Ascher, Ruuth &
Wetton, SIAM J. Numer. Anal. 32 (1995) (SBDF).
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from .. import _chebyshev as cheb
from .. import _estimate
from .._rollout import BlowUpError, rollout_chunked
from .._sbdf import steps_for_chunk
from ..benchmarks import Benchmark
from . import _rt_linear
from ._boussinesq import BoussinesqChannel

EQUATION = ("u_t + u.grad u = -grad p + sqrt(Pr/Ra) Lap u + T e_y, div u = 0, T_t + u.grad T = Lap T / sqrt(Pr Ra); "
            "x in [0,1] periodic, y in [0,2], u = v = T = 0 at y = 0, 2; "
            "u(0) = 0, T(0) = (1 - tanh((y - 1 - a|sin(pi x)|)/delta)) tanh(y/delta) tanh((2-y)/delta) / 2")
PARAMS = {"pr": 0.71, "ra": 1e6, "delta": 0.01, "amplitude": 0.02, "interface": "abs_sin"}
LX, LY = 1.0, 2.0
FIELDS = ("u", "v", "T")

def check_params(params: dict) -> None:
    """Raise ValueError for physically meaningless parameters."""
    for key in ("pr", "ra", "delta"):
        if not (isinstance(params[key], (int, float)) and params[key] > 0 and math.isfinite(params[key])):
            raise ValueError(f"rayleigh_taylor: {key} must be a positive number, got {params[key]!r}")
    if not (isinstance(params["amplitude"], (int, float)) and abs(params["amplitude"]) < 0.5):
        raise ValueError(f"rayleigh_taylor: amplitude must be a number below 0.5 in size, got {params['amplitude']!r}")
    if params["interface"] not in ("abs_sin", "sin_2pi"):
        raise ValueError(f"rayleigh_taylor: interface must be 'abs_sin' or 'sin_2pi', got {params['interface']!r}")


def check_grid(n, n_cheb) -> None:
    """Raise ValueError for grids too coarse to mean anything (or not integers)."""
    if int(n) != n or n < 16 or n % 2:
        raise ValueError(f"rayleigh_taylor: n (x grid points) must be an even integer >= 16, got {n}")
    if int(n_cheb) != n_cheb or n_cheb < 16:
        raise ValueError(f"rayleigh_taylor: n_cheb (Chebyshev degree in y) must be an integer >= 16, got {n_cheb}")


def diffusivities(params: dict) -> tuple:
    """(nu, kappa) = (sqrt(Pr/Ra), 1/sqrt(Pr Ra)): the factors of the viscous and the T-diffusion terms."""
    return math.sqrt(params["pr"] / params["ra"]), 1.0 / math.sqrt(params["pr"] * params["ra"])


def interface_height(params: dict, x):
    """Interface y = 1 + eta(x)."""
    x = np.asarray(x, float)
    if params["interface"] == "abs_sin":
        return 1.0 + params["amplitude"] * np.abs(np.sin(np.pi * x))
    return 1.0 + params["amplitude"] * np.sin(2 * np.pi * x)


def initial_temperature(params: dict, y, x):
    """Smoothed initial T (broadcasting y, x)."""
    d = params["delta"]
    return 0.5 * (1.0 - np.tanh((y - interface_height(params, x)) / d)) * np.tanh(y / d) * np.tanh((LY - y) / d)


def symmetry_axis(params: dict) -> float:
    """x0 such that the initial data are mirror symmetric about x = x0."""
    return 0.0 if params["interface"] == "abs_sin" else 0.25


class RayleighTaylor(BoussinesqChannel):
    """The Rayleigh-Taylor problem on the discretised channel (`refsolvers.pde._boussinesq`), with its initial data.

    State: complex (3, n_cheb+1, K) array [W, T, Psi] in mixed space (see `BoussinesqChannel`).
    `start(state)` once, then `step(h)` repeatedly.

    Args:
        params: PDE parameters (see PARAMS).
        n: Fourier grid points in x (even, >= 16).
        n_cheb: Chebyshev degree in y (>= 16); n_cheb + 1 nodes including both walls.
        symmetric: project onto the mirror symmetry of the initial data every step.
        startup_substeps: the first two steps are each done as this many SBDF1/SBDF2 substeps, so that
            the start does not lower the global order.
    """

    def __init__(self, params: dict, n: int, n_cheb: int, symmetric: bool = False, startup_substeps: int = 16):
        check_params(params)
        check_grid(n, n_cheb)
        if int(startup_substeps) != startup_substeps or startup_substeps < 1:
            raise ValueError(f"rayleigh_taylor: startup_substeps must be a positive integer, got {startup_substeps}")
        self.params = dict(params)
        super().__init__(*diffusivities(params), n, n_cheb, LX, LY, symmetric, symmetry_axis(params),
                         int(startup_substeps))

    def initial_state(self, fine_degree: int | None = None) -> np.ndarray:
        """State at t = 0: T0 projected exactly onto the kept Fourier modes and truncated in Chebyshev degree.

        x: `PeriodicGrid.project` (composite Gauss-Legendre quadrature, n/8 panels of 32 nodes), exact for the
        slope jump of |sin pi x| at x = 0, which sits at the period boundary. y: T0 sampled at the nodes of degree
        `fine_degree` (default max(8 n_cheb, 4096), which resolves the tanh layers to round-off) and
        truncated to degree n_cheb; the wall values are set to exactly 0.
        """
        m = fine_degree or max(8 * self.n_cheb, 4096)
        y_fine = cheb.nodes(m, 0.0, LY)
        t_hat = self.grid.project(lambda x: initial_temperature(self.params, y_fine[:, None], x[None, :]))
        t_hat = cheb.truncate(t_hat[:, : self.K], self.n_cheb, axis=0)
        t_hat[[0, -1]] = 0.0
        state = np.zeros((3, self.n_cheb + 1, self.K), complex)
        state[1] = t_hat
        return self.symmetrize(state) if self.symmetric else state


# ---------------------------------------------------------------------- driver
CHUNK = 0.25  # the step is re-chosen at least this often (time units)


def march(params: dict, n: int, n_cheb: int, t_out, coords_y, coords_x, dt: float = 1e-3, cfl: float = 0.3,
          schedule=None, symmetric: bool = False, startup_substeps: int = 16, progress: bool = True,
          desc: str = "") -> tuple:
    """Solve and evaluate at the output grid (`refsolvers._rollout.rollout_chunked`).

    Each output interval is cut into ceil(gap / CHUNK) equal chunks, and each chunk into equal steps, as
    many as `refsolvers._sbdf.steps_for_chunk` chooses (h <= dt, advective CFL <= cfl, a multiple of 3) or
    as `schedule` gives, one entry per chunk: e.g. 2/3 of another run's to get steps exactly 1.5 times longer.

    Returns:
        (values (nt, 3, ny, nx) of u, v, T; solver; schedule (steps per chunk)).
    Raises:
        BlowUpError: non-finite state (time and step given).
    """
    t_out = np.asarray(t_out, float)
    values = np.empty((t_out.size, 3, len(coords_y), len(coords_x)))
    yy, xx = np.meshgrid(coords_y, coords_x, indexing="ij")
    values[0] = 0.0
    values[0, 2] = initial_temperature(params, yy, xx)  # the exact (smoothed) initial data
    last = {"rate": 0.0, "h": None}  # advective rate at the start of the previous chunk, its step

    def n_steps(index: int, length: float) -> int:
        if schedule is not None:
            n_sub = int(schedule[index])
        else:
            n_sub = steps_for_chunk(length, solver.rate, last["rate"], dt, cfl, last["h"])
        last.update(rate=solver.rate, h=length / n_sub)
        return n_sub

    # small products: BLAS threads only add overhead; overflow before a blow-up is reported as BlowUpError,
    # not as numpy RuntimeWarnings
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        solver = RayleighTaylor(params, n, n_cheb, symmetric, startup_substeps)
        observe = solver.output_operator(coords_y, coords_x)
        solver.start(solver.initial_state(), t_out[0])
        used = rollout_chunked(solver, t_out, values, observe, n_steps, CHUNK, progress, desc)
    return values, solver, used


def solve(params: dict, solver: dict, coords: dict, progress: bool = True) -> tuple:
    """Registry entry point: (fields, info) with a self-convergence error estimate.

    Error estimate (relative L2 over the whole output grid, per field, docs/design.md section 5;
    the shared estimator `refsolvers._estimate`):
    * time: a companion run with steps exactly 1.5 times longer (2/3 of the main run's steps per chunk;
      doubling them would push the advective CFL past SBDF3's limit); stored: |u(h) - u(1.5h)|, which
      bounds the main run's error whenever the longer step at least doubles it (the third-order
      Richardson value |u(h) - u(1.5h)| / (1.5^3 - 1) is stored as ``time_richardson``);
    * space: a companion run on the grid scaled by `check_factor` (default 3/4) in both directions (its
      own CFL-controlled steps: time errors are orders of magnitude smaller); |u(main) - u(coarse)| is
      essentially the coarse run's error, an upper bound for the main run's when the spatial
      convergence is spectral (conservative).
    A companion that blows up leaves ``total = None`` and the reason under "failed" (the main run is kept).
    """
    check_params(params)
    check_grid(solver["n"], solver["n_cheb"])
    n, m = int(solver["n"]), int(solver["n_cheb"])
    factor = float(solver["check_factor"])
    nc, mc = _estimate.coarser_grid(n, factor), _estimate.coarser_grid(m, factor, even=False)
    if not 0.25 <= factor < 1 or (solver.get("error_check", True) and min(nc, mc) < 16):
        raise ValueError(f"rayleigh_taylor: check_factor must be in [0.25, 1) and leave a grid of at least 16 x 16 "
                         f"for the error check, got {factor} ({nc} x {mc})")
    opts = dict(symmetric=bool(solver["symmetric"]), startup_substeps=int(solver["startup_substeps"]),
                progress=progress)
    if not 0 < float(solver["cfl"]) <= 0.4:
        raise ValueError(f"rayleigh_taylor: cfl must be in (0, 0.4] (SBDF3 is stable to ~0.63 and the 1.5 h "
                         f"error check needs room), got {solver['cfl']}")
    t, y, x = coords["t"], coords["y"], coords["x"]
    values, main, schedule = march(params, n, m, t, y, x, dt=float(solver["dt"]), cfl=float(solver["cfl"]),
                                   desc=f"rayleigh_taylor {n}x{m}", **opts)
    info = {"method": ("Fourier (x, 2/3 rule) x Chebyshev-Gauss-Lobatto collocation (y); streamfunction-vorticity "
                       "with a 2x2 influence matrix per mode (psi = psi_y = 0 at the walls), mean flow U(y) for k=0; "
                       "variable-step SBDF3 IMEX (diffusion implicit, advection explicit, buoyancy with the new T), "
                       "SBDF1/2 start on substeps; steps per 0.25-chunk from an advective CFL target"),
            "n": n, "n_cheb": m, "kept_x_modes": main.K, "dt": main.h_range[1], "dt_min": main.h_range[0],
            "steps": main.steps, "steps_per_chunk": schedule, "chunk": CHUNK, "max_cfl": main.max_cfl,
            "symmetric": opts["symmetric"], "symmetry_axis_x": symmetry_axis(params),
            "nu": main.nu, "kappa": main.kappa, "delta": params["delta"],
            "initial_data": ("T0 projected exactly onto the kept Fourier modes (composite Gauss-Legendre) and truncated "
                             "in Chebyshev degree from a fine sampling; the t=0 output is the exact smoothed T0"),
            "output_evaluation": "exact Fourier x barycentric Chebyshev interpolation at the output points",
            "boundary_layer": "T0 multiplied by tanh(y/delta): thin stable layer at y=0 where T=0 meets T=1"}
    estimate = {}
    if solver.get("error_check", True):
        estimate = {"space_check_grid": [nc, mc],
                    "definition": _estimate.definition(3, "|u(main) - u(grid x check_factor)| (an upper bound for a "
                                                          "spectrally converging grid); headline on T")}
        try:
            coarse_t, _, _ = march(params, n, m, t, y, x, schedule=[2 * s // 3 for s in schedule],
                                   desc="rayleigh_taylor check 1.5dt", **opts)
            diff = _estimate.relative_differences(values, coarse_t, FIELDS)
            estimate.update(_estimate.time_estimate(diff, 1.5, order=3, headline="T"))
            coarse_s, _, _ = march(params, nc, mc, t, y, x, dt=float(solver["dt"]), cfl=float(solver["cfl"]),
                                   desc=f"rayleigh_taylor check {nc}x{mc}", **opts)
            per_space = _estimate.relative_differences(values, coarse_s, FIELDS)
            estimate.update(space=per_space["T"], space_per_field=per_space, total=estimate["time"] + per_space["T"])
        except BlowUpError as exc:  # keep the main run; the file says why its error is unknown
            estimate.update(total=None, failed=f"error-check companion: {exc}")
    info["error_estimate"] = estimate
    fields = {name: values[:, i] for i, name in enumerate(FIELDS)}
    return fields, info


BENCHMARK = Benchmark(
    name="rayleigh_taylor", equation=EQUATION, fields=FIELDS, params=PARAMS,
    solver={"n": 128, "n_cheb": 256, "dt": 1e-3, "cfl": 0.3, "symmetric": False, "startup_substeps": 16,
            "error_check": True, "check_factor": 0.75},
    quick={"ra": 1e4, "n": 32, "n_cheb": 32, "dt": 2e-2, "nt": 11, "nx": 32, "ny": 64},
    output={"t": (0.0, 10.0, 40), "y": (0.0, LY, 200), "x": (0.0, LX, 100)},
    solve=solve, periodic=("x",), metric_fields=("T",),
    convergence={"T_rel_l2": {"time": 6.4e-8, "y_vs_320": 2.1e-8, "x_vs_192": 6.1e-8},
                 "u_rel_l2_x_vs_192": 2.6e-7, "v_rel_l2_x_vs_192": 1.2e-6,
                 "study": "scripts/rayleigh_taylor_study.py (module docstring)"},
)


def linear_growth_rate(params: dict, k: float, base_t, n_cheb: int = 64) -> tuple:
    """Growth rate of the most unstable mode e^{ikx + sigma t} about the motionless state T = base_t(y).

    An independent discretisation of the linearised equations (`refsolvers.pde._rt_linear.growth_rate`:
    the time stepper does not enter), Chebyshev collocation of degree `n_cheb` on [0, 2].
    The base state is frozen (quasi-static): it diffuses on the time scale width^2/kappa.

    Args:
        params: PDE parameters (pr, ra).
        k: angular wavenumber (2 pi for the fundamental mode of the unit period).
        base_t: callable y -> T(y), or values at the degree-`n_cheb` nodes on [0, 2].
        n_cheb: Chebyshev degree.
    Returns:
        (sigma, eigenvector (psi, theta) at the nodes) for the eigenvalue of largest real part.
    """
    check_params(params)
    return _rt_linear.growth_rate(*diffusivities(params), k, base_t, n_cheb, LY)
