"""Kolmogorov flow: 2-D incompressible Navier-Stokes in vorticity form on the periodic unit square.

    w_t + u w_x + v w_y = nu Lap w + curl f,   w = v_x - u_y,   f = (A sin(2 pi m y), 0),
    curl f = d/dx f_y - d/dy f_x = -2 pi m A cos(2 pi m y)   (A = 2, m = 2: -8 pi cos(4 pi y)).

`nu` multiplies the viscous term (Re = 1/nu; the default nu = 1e-4 is the paper's Re = 1e4),
`forcing_amplitude` is A and `forcing_mode` is m. The velocity comes from the streamfunction
(u = psi_y, v = -psi_x, -Lap psi = w). Output: 50 snapshots t = 0.04, 0.08, ..., 2 (t = 0 is not an
output) of u, v, w on 512 x 512 points, both ends of [0, 1] included (the SOAP-PINN benchmark).

Initial data (docs/design.md section 6): a random solenoidal velocity with shell spectrum
E(k) = C k^4 exp(-2 (k / k_peak)^2), k in units of 2 pi, k_peak = 4, scaled to 1/2 <|u|^2> = energy = 0.5.
Each wavevector kappa gets the energy E(|kappa|) / (2 pi |kappa|) and a random phase: the angles of
``rfft2`` of white noise ``numpy.random.default_rng(seed).standard_normal((64, 64))`` (Hermitian by
construction). The phases live on that fixed 64 x 64 lattice, so every resolution n >= 48 starts from
the same field (the modes |kappa| >= 16 carry a relative energy below 1e-10).

Method: Fourier pseudo-spectral, 2/3 dealiasing, ETDRK4 with the viscous term exact. The advection is
evaluated in Basdevant's (1983) form, u.grad w = (d_xx - d_yy)(u v) + d_xy (v^2 - u^2): four FFTs per
evaluation instead of five, identical to the advective form for the dealiased (exactly divergence-free)
fields. Time step dt = min(`dt`, `cfl` / (n max(|u| + |v|))) with the maximum taken on the initial
field; the flow speeds up by about 1.8x by t = 2, so the Courant number reached is recorded
(``cfl_max``). Use ``--set dt=...`` below the CFL step for a fixed step, or ``--set cfl=0`` to take
`dt` as given.

Error estimate (relative L2 over the output grid, per field; `refsolvers._estimate`): time = |q(dt) - q(1.5 dt)|
from a companion run with a 1.5 times longer step, marched in a background thread (a doubled step would
cross the stability limit, Courant number about 1.8, late in the run); the Richardson value
|q(dt) - q(1.5 dt)| / (1.5^4 - 1) is stored as ``time_richardson``; space = relative size of the
outer 1/8 of the kept modes of w, or (larger, and the stored one in practice) the difference to a
space companion on 3/4 of the modes with the same steps, marched after the time companion in the same
thread. Both companions include the flow's amplification of early errors; the tail indicator is
instantaneous and does not (at the quick 64^2 it reads 0.25 where the error against 128^2 is 1.1). The 3/4-grid
difference is essentially the coarser grid's error, so at the defaults it overstates the measured
spatial error (512^2 vs 1024^2, below) by roughly the ratio of the two grids' errors.

Defaults (the benchmark): n = 512 modes per axis, cfl = 0.5, so dt = 2.72e-4 (step count, run time and
memory: datasets/README.md; ``--quick``: n = 64, 5 outputs on 65^2, ~1 s of CPU).

Study (``scripts/kolmogorov_study.py``; relative L2 of w, t = 0.25, 0.5, ..., 2; default parameters). The
headline figures are the registry entry's ``convergence`` (BENCHMARK below), not repeated here:

* space: 512^2 vs 768^2 (both cfl 0.5) over the 8 snapshots and at their worst, t = 2 (7.6e-4 at t = 0.25,
  while the initial transient builds the thinnest filaments); against 1024^2 (cfl 0.5, 4030 CPU s) at t = 2
  for 512^2 (1.6e-4 to 7.6e-4 before) and 768^2 (at most 1.9e-5, t = 0.25). The vorticity spectra at t = 2
  (``kolmogorov_study.py spectra``, results/kolmogorov_spectra/) of 512^2 and 1024^2 agree within 10 % up
  to k = 168, next to the 512^2 grid's 2/3 cut-off (k = 170). 256^2 is not converged: 2e-2 at t = 0.25
  growing to 0.53 at t = 2. The tail indicator of the 512^2 run peaks at the size of the measured error.
* time: the default run's Richardson value |q(dt) - q(1.5 dt)|/(1.5^4 - 1) for w (1.2e-6 for u, v; the
  stored, conservative difference is 4.06 times that); at 256^2, cfl 0.5 vs 0.25 differ by 4.2e-4 at
  t = 2. A step 2x the default (cfl 1) blows up near t = 2 at 256^2.
* predictability: a 1e-10 perturbation of the initial vorticity grows by the registry's
  ``perturbation_growth_t0_to_2`` by t = 2: errors made early are amplified, but float64 round-off stays
  far below the discretisation error.

References: Cox & Matthews (2002), Kassam & Trefethen (2005) for ETDRK4; Basdevant (1983) for the
four-FFT advection; Orszag (1971) for the 2/3 rule.
"""

from __future__ import annotations

import os
import sys
import threading
from fractions import Fraction

import numpy as np

from .. import _estimate
from .._etdrk import ETDRK4
from .._fft import RealFFT
from .._grid import PeriodicGrid
from .._rollout import BlowUpError, rollout, substeps
from .._spectral import SpectralProblem, tail_fraction, vorticity_to_velocity
from ..benchmarks import Benchmark

EQUATION = ("w_t + u w_x + v w_y = nu Lap w - 2 pi m A cos(2 pi m y), w = v_x - u_y, div u = 0 "
            "(from u_t + u.grad u = -grad p + nu Lap u + (A sin(2 pi m y), 0)), (x, y) in [0,1]^2 periodic")
PARAMS = {"nu": 1e-4, "forcing_amplitude": 2.0, "forcing_mode": 2, "seed": 0, "k_peak": 4.0, "energy": 0.5}
FIELDS = ("u", "v", "w")
_RATIO = 1.5  # step ratio of the error-check companion run (2 would cross ETDRK4's stability limit)
_LATTICE = 64  # the random phases are drawn on this lattice, whatever the resolution


def initial_vorticity(params: dict, grid: PeriodicGrid) -> np.ndarray:
    """The seeded random initial vorticity (see the module docstring), complex `grid.spectral_shape`."""
    m = _LATTICE
    phase = np.angle(np.fft.rfft2(np.random.default_rng(int(params["seed"])).standard_normal((m, m))))
    ky = np.fft.fftfreq(m, 1.0 / m)[:, None]
    kx = np.fft.rfftfreq(m, 1.0 / m)[None, :]
    kk = np.hypot(kx, ky)
    keep = (np.abs(ky) < m // 2) & (kx < m // 2) & (kk > 0)
    spectrum = kk**4 * np.exp(-2 * (kk / params["k_peak"]) ** 2)
    per_mode = np.where(keep, spectrum / (2 * np.pi * np.where(keep, kk, 1.0)), 0.0)  # 1/2 |u_hat|^2
    total = np.sum(np.where(kx > 0, 2.0, 1.0) * per_mode)  # both halves of the spectrum
    w_lattice = 2 * np.pi * kk * np.sqrt(2 * per_mode * params["energy"] / total) * np.exp(1j * phase)
    w_hat = np.zeros(grid.spectral_shape, complex)
    n_y, n_x = grid.shape
    rows = np.fft.fftfreq(m, 1.0 / m).astype(int)
    cols = min(m // 2, grid.spectral_shape[1])
    for i in np.flatnonzero(np.abs(rows) < min(m // 2, n_y // 2)):
        w_hat[rows[i] % n_y, :cols] = w_lattice[i, :cols]
    return w_hat * (n_y * n_x) * grid.mode_mask(2 / 3)


def make_problem(params: dict, n: int, threads: int | None = None, own_plans: bool = False) -> SpectralProblem:
    """Grid, viscous symbol, dealiased vorticity tendency and initial vorticity at n x n modes.

    Args:
        threads: FFT threads (None: automatic, see `refsolvers._fft`).
        own_plans: give the tendency FFT plans (and buffers) of its own instead of the process-wide
            cached ones, so that this problem can march in a second Python thread.
    """
    grid = PeriodicGrid((n, n), (1.0, 1.0), (0.0, 0.0), threads=threads)
    fft = RealFFT((2, n, n), 2, threads) if own_plans else grid.fft(2)
    ky, kx = grid.wavenumbers()
    mask = grid.mode_mask(2 / 3)
    s_u, s_v = vorticity_to_velocity(grid)
    r_u, r_v = (s_u / 1j).real * mask, (s_v / 1j).real * mask  # real: u_hat = r_u (i w_hat)
    c_uv, c_d = (kx**2 - ky**2) * mask, kx * ky * mask  # -(u.grad w)^ = c_uv (uv)^ + c_d (v^2 - u^2)^
    m, amp = int(params["forcing_mode"]), params["forcing_amplitude"]
    if not 0 < m < n / 3:
        raise ValueError(f"forcing_mode must be a positive integer below n/3 = {n / 3:.0f}, got {m}")
    at = (np.array([m, n - m]), np.array([0, 0]))  # modes (k_y, k_x) = (+-m, 0)
    forcing = -np.pi * m * amp * n * n  # -2 pi m A cos(2 pi m y): half on each, rfftn normalisation
    velocity_hat = np.empty((2,) + grid.spectral_shape, complex)
    products = np.empty((2,) + grid.shape)

    def nonlinear(w_hat):
        iw = 1j * w_hat
        np.multiply(r_u, iw, out=velocity_hat[0])
        np.multiply(r_v, iw, out=velocity_hat[1])
        u, v = fft.backward(velocity_hat)
        np.multiply(u, v, out=products[0])
        np.subtract(v, u, out=products[1])
        products[1] *= np.add(u, v, out=u)  # v^2 - u^2
        uv_hat, d_hat = fft.forward(products)
        uv_hat *= c_uv
        uv_hat += np.multiply(c_d, d_hat, out=d_hat)
        uv_hat[at] += forcing
        return uv_hat

    return SpectralProblem(grid, -params["nu"] * grid.wavenumber_squared(), nonlinear,
                           initial_vorticity(params, grid), None, ("w",), 2 / 3)


def velocity(problem: SpectralProblem, w_hat: np.ndarray) -> np.ndarray:
    """(u_hat, v_hat, w_hat) stacked, complex (3, *spectral_shape)."""
    s_u, s_v = vorticity_to_velocity(problem.grid)
    return np.stack([s_u * w_hat, s_v * w_hat, w_hat])


def time_step(problem: SpectralProblem, cfl: float, dt_max: float) -> tuple:
    """(dt, Courant number of the initial field at that dt): dt = min(dt_max, cfl / (n max(|u|+|v|)))."""
    u, v = problem.grid.to_physical(velocity(problem, problem.u0_hat)[:2])
    speed = float(np.max(np.abs(u) + np.abs(v))) * problem.grid.shape[0]  # max(|u|/dx + |v|/dy)
    dt = min(dt_max, cfl / speed) if cfl > 0 and speed > 0 else dt_max
    return dt, dt * speed


def march(problem: SpectralProblem, dt: float, t_out: np.ndarray, observe, progress: bool = True,
          desc: str = "", multiple: int = 1, stretch: float = 1.0) -> tuple:
    """March from t = 0 with ETDRK4 and record ``observe(i, w_hat)`` at each output time t_out[i].

    t = 0 is not an output. Uniform t_out starting at their spacing (the default 0.04, ..., 2) are one
    rollout from 0 (observe is also called once there, with i = -1, and that value is dropped);
    otherwise a first leg 0 -> t_out[0] with its own step precedes them.

    Args:
        dt: largest step; each output interval takes a whole number of steps (`substeps`).
        observe: (i, w_hat) -> array of a fixed shape.
        multiple: round the steps per interval up to a multiple of this.
        stretch: then take `stretch` times longer steps (steps per interval / stretch must be whole:
            a companion run with multiple=3, stretch=1.5 lands on the outputs of one with multiple=3).
    Returns:
        (values (len(t_out), ...), number of steps, dt of the steps between outputs).
    """
    t_out = np.asarray(t_out, float)
    state, steps, t_run, first, dt_leg = problem.u0_hat, 0, t_out, 0, dt

    def sub(times):
        n_sub = round(-(-substeps(times, dt)[0] // multiple) * multiple / stretch)
        return n_sub, (times[1] - times[0]) / n_sub

    if t_out[0] > 0 and t_out.size > 1 and np.isclose(t_out[0], t_out[1] - t_out[0], rtol=1e-9, atol=0):
        t_run, first = np.concatenate([[0.0], t_out]), -1
    elif t_out[0] > 0:
        leg = np.array([0.0, t_out[0]])
        steps, dt_leg = sub(leg)
        state = rollout(ETDRK4(problem.linear, problem.nonlinear, dt_leg).step, state, leg, steps,
                        lambda s: s, progress, f"{desc} to t={t_out[0]:g}")[-1]
    if t_run.size == 1:
        return observe(0, state)[None], steps, dt_leg
    calls = iter(range(first, t_out.size))
    n_sub, dt_eff = sub(t_run)
    values = rollout(ETDRK4(problem.linear, problem.nonlinear, dt_eff).step, state, t_run, n_sub,
                     lambda s: observe(next(calls), s), progress, desc)
    return values[-first:] if first else values, steps + n_sub * (t_run.size - 1), dt_eff


class _Stopped(Exception):
    """The main run failed: the error-check companion stops at its next output."""


def _output_values(problem: SpectralProblem, w_hat: np.ndarray, space: tuple, counts, mats) -> np.ndarray:
    """u, v, w at the output points, float (3, ny, nx)."""
    spectral = velocity(problem, w_hat)
    if counts:
        return problem.grid.evaluate_uniform(spectral, counts)
    return problem.grid.evaluate(spectral, space, mats)


def solve(params: dict, solver: dict, coords: dict, progress: bool = True) -> tuple:
    """Solve the benchmark on the output grid; returns ({"u", "v", "w"}: (t, y, x) arrays, info).

    With ``error_check`` (default) a companion run with a 1.5x longer step marches in a background
    thread (its own FFT plans; numpy and FFTW release the GIL, so two cores run both at once).
    """
    n = int(solver["n"])
    check = bool(solver.get("error_check", True))
    # the check runs on a core of its own: with 2 cores or fewer the main run's FFTs take one thread
    problem = make_problem(params, n, threads=1 if check and (os.cpu_count() or 1) <= 2 else None)
    grid, t_out = problem.grid, np.asarray(coords["t"], float)
    space = (coords["y"], coords["x"])
    counts = grid.uniform_counts(space)
    mats = None if counts else grid.evaluation_matrices(space)
    dt, cfl0 = time_step(problem, float(solver["cfl"]), float(solver["dt"]))
    multiple = Fraction(_RATIO).limit_denominator(100).numerator if check else 1
    diagnostics = {"tail": [], "speed": [], "energy": [], "enstrophy": []}

    def observe(i, w_hat):
        values = _output_values(problem, w_hat, space, counts, mats)
        if i >= 0:
            u, v, w = (q[:-1, :-1] for q in values) if counts else values
            diagnostics["tail"].append(tail_fraction(problem, w_hat))
            diagnostics["speed"].append(float(np.max(np.abs(u) + np.abs(v))))
            diagnostics["energy"].append(float(0.5 * np.mean(u * u + v * v)))
            diagnostics["enstrophy"].append(float(0.5 * np.mean(w * w)))
        return values

    companion, stop = {}, threading.Event()
    n_space = _estimate.coarser_grid(n)
    if n_space / 3 <= int(params["forcing_mode"]):
        n_space = 0  # the forcing does not fit on the coarser grid: tail indicator only

    def run_companion():
        twin = make_problem(params, n, threads=1, own_plans=True)

        def keep(i, w_hat):
            if stop.is_set():
                raise _Stopped
            return _output_values(twin, w_hat, space, counts, mats)

        try:  # overflow before a blow-up is reported as such, not as warnings (errstate is per thread)
            with np.errstate(over="ignore", invalid="ignore"):
                companion["values"] = march(twin, dt, t_out, keep, False, multiple=multiple, stretch=_RATIO)[0]
        except BlowUpError as exc:
            companion["blowup"] = exc
        except _Stopped:
            return
        if n_space < 16:
            return
        coarse = make_problem(params, n_space, threads=1, own_plans=True)
        coarse_mats = None if counts else coarse.grid.evaluation_matrices(space)

        def keep_coarse(i, w_hat):
            if stop.is_set():
                raise _Stopped
            return _output_values(coarse, w_hat, space, counts, coarse_mats)

        try:  # the space companion: 3/4 of the modes, the same steps
            with np.errstate(over="ignore", invalid="ignore"):
                companion["space_values"] = march(coarse, dt, t_out, keep_coarse, False, multiple=multiple)[0]
        except BlowUpError as exc:
            companion["space_blowup"] = exc
        except _Stopped:
            pass

    thread = threading.Thread(target=run_companion, name="kolmogorov-error-check", daemon=True)
    if check:
        thread.start()
    try:
        values, steps, dt_eff = march(problem, dt, t_out, observe, progress, f"kolmogorov N={n}", multiple)
    except BaseException:
        stop.set()
        raise
    gap = float(t_out[1] - t_out[0]) if t_out.size > 1 else float(t_out[0])
    info = {"method": "vorticity-streamfunction Fourier pseudo-spectral, 2/3 dealiasing, ETDRK4 "
                      "(Cox-Matthews, Kassam-Trefethen contour integral), viscous term exact",
            "n": n, "dt": dt_eff, "steps": steps, "dealias": "2/3", "re": 1.0 / params["nu"],
            # the requested dt bound the step (not the CFL rule): say if whole steps per output changed it
            **(_estimate.dt_record(dt, dt_eff, gap, round(gap / dt_eff)) if dt == float(solver["dt"]) and gap > 0
               else {}),
            "cfl_initial": cfl0 * dt_eff / dt, "cfl_max": max(diagnostics["speed"]) * n * dt_eff,
            "initial_data": {"seed": int(params["seed"]), "k_peak": params["k_peak"],
                             "energy": params["energy"],
                             "spectrum": "E(k) = C k^4 exp(-2 (k/k_peak)^2), k in units of 2 pi; per-mode "
                                         "energy E(|k|)/(2 pi |k|); random phases = angle of rfft2 of "
                                         "numpy default_rng(seed).standard_normal((64, 64))"},
            "output_evaluation": "exact trigonometric interpolation at the output points",
            "energy": diagnostics["energy"], "enstrophy": diagnostics["enstrophy"]}
    estimate = {"space_tail": max(diagnostics["tail"])}
    if check:
        if thread.is_alive() and progress:
            print(f"kolmogorov: waiting for the {_RATIO}*dt error-check run", file=sys.stderr)
        thread.join()
        if "values" in companion:
            diff = _estimate.relative_differences(values, companion.pop("values"), FIELDS)
            estimate.update(_estimate.time_estimate(diff, _RATIO, order=4))
        else:
            estimate["time"] = None
            estimate["time_note"] = (f"the {_RATIO}*dt companion run blew up at t={companion['blowup'].t:.4g}: "
                                     "no time estimate")
        if "space_values" in companion:
            per_space = _estimate.relative_differences(values, companion.pop("space_values"), FIELDS)
            estimate.update(space_companion_n=n_space, space_per_field=per_space)
        elif "space_blowup" in companion:
            estimate["space_note"] = f"the {n_space}^2 space companion blew up at t={companion['space_blowup'].t:.4g}"
    estimate["space"] = max([estimate["space_tail"], *estimate.get("space_per_field", {}).values()])
    estimate["total"] = estimate["space"] + (estimate.get("time") or 0.0)
    estimate["definition"] = _estimate.definition(4, "max(space_tail, |q(n) - q(space_companion_n)|), "
                                                     "space_companion_n = 3n/4 with the same steps (an upper bound "
                                                     "under spectral convergence); space_tail = relative size of the "
                                                     "outer 1/8 of the kept Fourier modes of w, largest over the "
                                                     "output times")
    info["error_estimate"] = estimate
    return {f: values[:, i] for i, f in enumerate(FIELDS)}, info


BENCHMARK = Benchmark(
    name="kolmogorov", equation=EQUATION, fields=FIELDS, params=PARAMS,
    solver={"n": 512, "cfl": 0.5, "dt": 1e-2, "error_check": True},
    quick={"n": 64, "cfl": 0.6, "nt": 5, "nx": 65, "ny": 65},
    output={"t": (0.04, 2.0, 50), "y": (0.0, 1.0, 512), "x": (0.0, 1.0, 512)},
    solve=solve, periodic=("x", "y"), metric_fields=("w",),
    convergence={"w_512_vs_768": 4.9e-4, "w_512_vs_768_max_over_t": 1.0e-3, "w_512_vs_1024_t2": 1.0e-3,
                 "w_768_vs_1024_t2": 3.3e-6, "w_time_estimate": 4.6e-6,
                 "perturbation_growth_t0_to_2": 560.0},
)
