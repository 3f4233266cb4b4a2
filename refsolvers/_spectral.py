"""Generic driver for periodic semilinear problems u_t = L u + N(u) solved by Fourier + ETDRK4.

A PDE module builds a `SpectralProblem` (grid, linear symbol, nonlinear term, initial data) from its
parameters; `solve_spectral` marches it to the output times, evaluates it on the output grid, and
estimates its own error:

* time: a companion run whose step really differs: about 2*dt (ceil(n_sub/2) steps per output
  interval, a ratio between 1.5 and 2), or dt/2 when the main run takes one step per output interval.
  The stored "time" is the raw difference (times 2 for the finer companion), not the Richardson value
  |u(dt) - u(2dt)| / 15: it is not optimistic at a coarse dt (audit: datasets/README.md) and it contains the round-off
  amplification (KS) that Richardson does not model (`refsolvers._estimate`);
* space: a second companion on 3/4 of the modes with the same steps: |u(n) - u(3n/4)| bounds the
  main run's spatial error when the convergence is spectral, and it contains the amplification of
  early truncation errors (Ginzburg-Landau's unstable A = 0) that an instantaneous indicator misses;
  the larger of it and the relative size of the highest kept Fourier band (outer 1/8 of the resolved
  modes, maximised over the output times) is used.

Both are relative L2 over the whole output grid (docs/design.md section 5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from . import _estimate
from ._etdrk import ETDRK4
from ._grid import PeriodicGrid
from ._rollout import rollout, substeps


@dataclass
class SpectralProblem:
    """A semilinear periodic problem ready to march.

    Attributes:
        grid: the Fourier grid.
        linear: diagonal symbol L, shape (n_fields, *grid.spectral_shape).
        nonlinear: u_hat -> N(u_hat), same shape as `linear` (complex).
        u0_hat: initial state in Fourier space, same shape.
        initial_values: callable(*output coordinate meshes) -> (n_fields, ...) exact initial data, or
            None to evaluate the projected initial state.
        field_names: one name per field (output datasets).
        kept_fraction: fraction of modes the nonlinear term keeps (2/3 when dealiased, else 1).
    """

    grid: PeriodicGrid
    linear: np.ndarray
    nonlinear: Callable[[np.ndarray], np.ndarray]
    u0_hat: np.ndarray
    initial_values: Callable | None
    field_names: tuple
    kept_fraction: float = 1.0


class SemilinearPDE:
    """A periodic semilinear PDE u_t = L u + N(u), as data: subclasses are frozen dataclasses whose fields
    are the PDE coefficients (the benchmark's parameters, by name), with the fields as class data. The box
    is the benchmark's output grid (`periodic_box`), not typed again here.

    Class attributes:
        field_names: one name per field (the leading state axis).
    Methods (grid = the `PeriodicGrid` that `build_problem` makes):
        linear(grid): diagonal symbol L, shape (n_fields, *grid.spectral_shape).
        nonlinear(u_hat, grid): N(u) in Fourier space, same shape, not yet dealiased (the driver applies
            the mask).
        initial(*coords): initial data (n_fields, ...) at broadcasting coordinate arrays ordered (y, x).
    Grid-dependent arrays a method needs at every call are computed once per (coefficients, grid) with
    `grid_cached`.
    """

    field_names: ClassVar[tuple] = ("u",)

    def linear(self, grid: PeriodicGrid) -> np.ndarray:
        raise NotImplementedError

    def nonlinear(self, u_hat: np.ndarray, grid: PeriodicGrid) -> np.ndarray:
        raise NotImplementedError

    def initial(self, *coords) -> np.ndarray:
        raise NotImplementedError


def grid_cached(method):
    """Decorator: cache ``method(self, grid)`` per (PDE coefficients, grid) (both are hashable)."""
    return functools.lru_cache(maxsize=16)(method)


class ConservativeAdvection:
    """Mixin for 1-D PDEs as data whose nonlinear term is -(u^2)_x / 2 (Burgers, KdV), in Fourier space:
    N(u_hat) = -(i k / 2) * FFT(u^2)."""

    @grid_cached
    def _advection(self, grid):
        (k,) = grid.wavenumbers()
        return -0.5j * k

    def nonlinear(self, u_hat, grid):
        return self._advection(grid) * grid.to_spectral(grid.to_physical(u_hat) ** 2)


def periodic_box(output: dict) -> tuple:
    """(length, origin) per space axis, ordered (y, x), of an output grid whose periodic intervals include both
    ends ({"x": (lo, hi, n)}: period hi - lo, the last point repeats the first)."""
    axes = [a for a in ("y", "x") if a in output]
    return tuple(output[a][1] - output[a][0] for a in axes), tuple(output[a][0] for a in axes)


def build_problem(pde_class: type, params: dict, n: int, dealias: bool, box: tuple) -> SpectralProblem:
    """The driver's half of a PDE-as-data: coefficients from `params`, the n^d grid on `box` ((length, origin)
    per axis, `periodic_box`), the dealiasing mask (2/3 rule when `dealias`, else every mode but Nyquist), the
    exactly projected initial state."""
    pde = pde_class(**params)
    length, origin = box
    grid = PeriodicGrid((n,) * len(length), length, origin)
    fraction = 2 / 3 if dealias else 1.0
    mask = grid.mode_mask(fraction)
    tendency = pde.nonlinear

    def nonlinear(u_hat):
        return tendency(u_hat, grid) * mask

    u0_hat = np.stack([grid.project(lambda *c, i=i: pde.initial(*c)[i]) for i in range(len(pde.field_names))])
    return SpectralProblem(grid, pde.linear(grid), nonlinear, u0_hat, pde.initial, pde.field_names, fraction)


def relative_l2(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b||_2 / ||b||_2 over all entries."""
    return float(np.linalg.norm((a - b).ravel()) / np.linalg.norm(np.ravel(b)))


def tail_fraction(problem: SpectralProblem, u_hat: np.ndarray) -> float:
    """Relative L2 size of the outermost 1/8 of the kept modes (per axis band) of `u_hat`."""
    outer = problem.grid.mode_mask(problem.kept_fraction) & ~problem.grid.mode_mask(problem.kept_fraction * 7 / 8)
    total = np.sqrt(np.sum(np.abs(u_hat) ** 2))
    return float(np.sqrt(np.sum(np.abs(u_hat[..., outer]) ** 2)) / total) if total > 0 else 0.0


def march(problem: SpectralProblem, dt: float, t_out: np.ndarray, coords: tuple, progress: bool = True,
          desc: str = "", n_sub: int | None = None) -> tuple:
    """March `problem` with ETDRK4 and evaluate at (t_out x coords).

    Args:
        dt: largest step; each output interval takes ceil(spacing / dt) equal steps (`substeps`).
        n_sub: steps per output interval, overriding `dt` when given.
    Returns:
        (values, tail, dt_eff, n_sub): values has shape (nt, n_fields, *output shape); tail is the
        largest `tail_fraction` seen at the output times; dt_eff the step used.
    """
    if n_sub is None:
        n_sub, dt_eff = substeps(t_out, dt)
    else:
        dt_eff = float(t_out[1] - t_out[0]) / n_sub
    stepper = ETDRK4(problem.linear, problem.nonlinear, dt_eff)
    mats = problem.grid.evaluation_matrices(coords)
    tails = []

    def observe(u_hat):
        tails.append(tail_fraction(problem, u_hat))
        return problem.grid.evaluate(u_hat, coords, mats)

    # the small matrix products of `evaluate` run ~20x slower with BLAS threads on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        values = rollout(stepper.step, problem.u0_hat, t_out, n_sub, observe, progress=progress, desc=desc)
    if problem.initial_values is not None:
        meshes = np.meshgrid(*coords, indexing="ij")
        values[0] = np.asarray(problem.initial_values(*meshes)).reshape(values[0].shape)
    return values, max(tails[1:] or tails), dt_eff, n_sub


def solve_spectral(make_problem: Callable[..., SpectralProblem], params: dict, solver: dict, coords: dict,
                   progress: bool = True, name: str = "") -> tuple:
    """Solve a spectral benchmark and estimate its error.

    Args:
        make_problem: callable(params, n, dealias) -> SpectralProblem.
        params: PDE parameters.
        solver: needs "n" (modes per axis) and "dt"; optional "dealias" (bool),
            "error_check" (bool, default True: run the time companion, about 2*dt or dt/2, and the space
            companion on 3/4 of the modes; `refsolvers._estimate`).
        coords: output coordinates {"t": ..., "y": ..., "x": ...}.
    Returns:
        (fields, info): fields maps name -> array (t, [y,] x); info records the method and the error
        estimate.
    """
    n, dt = solver["n"], float(solver["dt"])
    dealias = bool(solver.get("dealias", False))
    problem = make_problem(params, n, dealias)
    space = tuple(coords[k] for k in ("y", "x") if k in coords)
    values, tail, dt_eff, n_sub = march(problem, dt, coords["t"], space, progress, desc=f"{name} N={n}")
    t_out = np.asarray(coords["t"], float)
    info = {"method": "Fourier pseudo-spectral + ETDRK4 (Cox-Matthews, Kassam-Trefethen contour integral)",
            "n": n, "dt": dt_eff, "steps": int(n_sub * (len(t_out) - 1)), "dealias": dealias,
            **_estimate.dt_record(dt, dt_eff, float(t_out[1] - t_out[0]) if t_out.size > 1 else dt, n_sub),
            "initial_data": "exact Fourier coefficients (Gauss-Legendre quadrature)",
            "output_evaluation": "exact trigonometric interpolation at the output points"}
    estimate = {"space_tail": tail}
    if solver.get("error_check", True) and t_out.size > 1:
        m, ratio = _estimate.companion_steps(n_sub)
        other, _, _, _ = march(problem, dt_eff, t_out, space, progress, desc=f"{name} check {ratio:g}dt", n_sub=m)
        diff = _estimate.relative_differences(values, other, problem.field_names)
        estimate.update(_estimate.time_estimate(diff, ratio, order=4))
        estimate["companion_dt"] = dt_eff * ratio
        del other
        nc = _estimate.coarser_grid(n)
        if nc >= 4:
            coarse, _, _, _ = march(make_problem(params, nc, dealias), dt_eff, t_out, space, progress,
                                    desc=f"{name} check N={nc}", n_sub=n_sub)
            per_space = _estimate.relative_differences(values, coarse, problem.field_names)
            estimate.update(space_companion_n=nc, space_per_field=per_space)
    estimate["space"] = max([estimate["space_tail"], *estimate.get("space_per_field", {}).values()])
    estimate["total"] = estimate["space"] + estimate.get("time", 0.0)
    estimate["definition"] = _estimate.definition(4, "max(space_tail, |q(n) - q(space_companion_n)|) with "
                                                     "space_companion_n = 3n/4 (same steps): spectral convergence "
                                                     "makes the difference an upper bound; space_tail = relative "
                                                     "size of the outer 1/8 of the kept Fourier modes, largest "
                                                     "over the output times")
    info["error_estimate"] = estimate
    fields = {f: values[:, i] for i, f in enumerate(problem.field_names)}
    return fields, info


def make_problem(bench, n: int, params: dict | None = None, dealias: bool | None = None) -> SpectralProblem:
    """The `SpectralProblem` of a PDE-as-data benchmark (``bench.pde``) at n modes per axis (default: the
    benchmark's parameters and dealiasing)."""
    dealias = bool(bench.solver.get("dealias", False)) if dealias is None else dealias
    return build_problem(bench.pde, bench.params if params is None else params, n, dealias, periodic_box(bench.output))


@dataclass(frozen=True)
class SpectralSolve:
    """``solve(params, solver, coords, progress)`` of a PDE-as-data benchmark: `solve_spectral` on `pde`'s
    problem on the periodic `box` of the output grid."""

    pde: type
    box: tuple
    name: str

    def make(self, params: dict, n: int, dealias: bool) -> SpectralProblem:
        return build_problem(self.pde, params, n, dealias, self.box)

    def __call__(self, params, solver, coords, progress=True):
        return solve_spectral(self.make, params, solver, coords, progress, self.name)


def spectral_benchmark(pde: type, **entry):
    """The registry entry (`refsolvers.benchmarks.Benchmark`) of a Fourier + ETDRK4 benchmark: `entry` holds
    every Benchmark field but ``solve`` and ``pde``, which come from `pde` (the box from ``entry["output"]``)."""
    from .benchmarks import Benchmark

    return Benchmark(pde=pde, solve=SpectralSolve(pde, periodic_box(entry["output"]), entry["name"]), **entry)


def vorticity_to_velocity(grid: PeriodicGrid) -> tuple:
    """Fourier multipliers (S_u, S_v) with u_hat = S_u w_hat, v_hat = S_v w_hat on a 2-D grid (y, x).

    Convention: w = v_x - u_y; streamfunction psi with u = psi_y, v = -psi_x, so -Lap psi = w and
    S_u = i k_y / |k|^2, S_v = -i k_x / |k|^2. The mean mode maps to zero (vorticity does not fix
    a uniform flow). Returns two complex arrays of `grid.spectral_shape`.
    """
    ky, kx = grid.wavenumbers()
    k2 = grid.wavenumber_squared()
    inv = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    return 1j * ky * inv, -1j * kx * inv
