"""Energy spectra of a trained PINN against reference solutions at several resolutions (docs/design.md section 10).

`spectrum_comparison(run_dir, grids=(64, 128))` restores the run's networks, evaluates
them on each n x n periodic grid (points j L / n, no repeated endpoint, in chunks of at most
`chunk` points; the vorticity w = v_x - u_y comes from the network by forward-mode derivatives,
the problem's `derived` field), and computes the isotropic spectrum E(k) with
`refsolvers.spectrum`, kept up to the shell k = n / 2 (the Nyquist wavenumber: shells beyond it are
only partly inside the grid's square of wavevectors), the same shells for the PINN and the reference
of a grid. The references are solved by refsolvers at the same n (solver grid n, output
grid n + 1 points per side, both ends, the dataset convention) with the run dataset's PDE parameters
and solver settings; they are cached in ``RUN_DIR/spectrum_refs/n{N}/NAME.h5`` (``spectrum_refs_quick``
for `quick` references) and reused when their parameters, grid and output times match. The run's own
dataset serves directly at the grid it was solved on. With ``announce`` one line on stderr gives the
grids, where each reference comes from and the expected solve time before anything is solved.

Pairs compared at each time (``pairs`` in the result):

- ``pinn_N`` vs ``ref_N``: the PINN against the reference of the same resolution;
- ``ref_N`` vs ``ref_M`` and ``pinn_N`` vs ``ref_M`` (M the finest grid): where the coarse reference
  has converged and how the PINN compares with the best reference;
- ``pinn_N`` vs ``pinn_M``: whether the PINN's own spectrum depends on the evaluation grid.

For each pair: ``departure_k``, the first k >= 1 where |E_a - E_b| > 10 % of E_b (b the second, the
reference of the pair; shells where both are below 1e-12 max E_b are ignored; None: never), and
``high_k_ratio``, the energy in the shells k > k_max / 2 of a over that of b, with k_max = n / 2 the
Nyquist wavenumber of the coarser grid of the pair (in units of 2 pi / L); None when the reference
holds no energy there above round-off.

Results: a JSON file (default ``RUN_DIR/spectrum.json``) and one log-log PNG next to it
(``RUN_DIR/spectrum.png``), a panel per time with all curves.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from refsolvers.spectrum import departure_wavenumber, energy_spectrum, wavenumber_label

DEFAULT_GRIDS = (64, 128)
"""Grids of `pinns spectrum` without ``--grids``: seconds to a few minutes of reference solves on a CPU."""
CHUNK = 65536
DEPARTURE_REL = 0.1
DEPARTURE_FLOOR = 1e-12
_T_MATCH = 1e-9


# ----------------------------------------------------------------------------- pair metrics


def high_k_ratio(k, e, e_ref, k_max: float) -> float | None:
    """Energy of `e` in the shells k > k_max / 2 over that of `e_ref` (common k axis).

    None when `e_ref` has no energy there above round-off (DEPARTURE_FLOOR times its total).
    """
    size = min(len(k), len(e), len(e_ref))
    k, e, e_ref = (np.asarray(a, float)[:size] for a in (k, e, e_ref))
    band = k > k_max / 2
    ref = float(np.sum(e_ref[band]))
    return float(np.sum(e[band]) / ref) if ref > DEPARTURE_FLOOR * float(np.sum(e_ref)) else None


def compare_pair(k, e, e_ref, n: int, length: float = 1.0) -> dict:
    """``{"departure_k", "high_k_ratio", "k_max"}`` of spectrum `e` against `e_ref` (module docstring).

    Args:
        k: shell wavenumbers (as `energy_spectrum` returns them for box side `length`).
        e, e_ref: the two spectra (the shorter length is used).
        n: points per side of the coarser grid of the pair (k_max = n / 2 / length).
    """
    k_max = n / 2 / length
    return {"departure_k": departure_wavenumber(k, e, e_ref, DEPARTURE_REL, DEPARTURE_FLOOR),
            "high_k_ratio": high_k_ratio(k, e, e_ref, k_max), "k_max": k_max}


def field_spectrum(values: dict, field: str, length: float, drop_endpoint: bool) -> tuple:
    """(k, E) of `field` from `values` (name -> 2-D array); field "velocity" sums the spectra of u and v."""
    if field == "velocity":
        k, e_u = energy_spectrum(values["u"], length, drop_endpoint)
        return k, e_u + energy_spectrum(values["v"], length, drop_endpoint)[1]
    return energy_spectrum(values[field], length, drop_endpoint)


# ----------------------------------------------------------------------------- references


def _components(field: str) -> tuple:
    return ("u", "v") if field == "velocity" else (field,)


def _read_reference(path, names: tuple, times) -> dict:
    """{time: {name: (n+1, n+1) array}} from a refsolvers file, reading only those slices."""
    import h5py

    with h5py.File(path, "r") as f:
        t = f["t"][()]
        index = []
        for time in times:
            i = int(np.argmin(np.abs(t - time)))
            if abs(t[i] - time) > _T_MATCH * max(1.0, abs(time)):
                raise ValueError(f"reference {path} has no output at t = {time:g}")
            index.append(i)
        values = {time: {name: np.asarray(f[name][i], float) for name in names} for time, i in zip(times, index)}
    return values


def _reference_matches(path, name: str, params: dict, n: int, t_coords) -> bool:
    """Whether `path` is a refsolvers file of `name` with `params`, solver grid n, output n + 1 and times t_coords."""
    from refsolvers._io import SCHEMA

    try:
        import h5py

        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            t = f["t"][()]
            ny, nx = len(f["y"]), len(f["x"])
    except (OSError, KeyError):
        return False
    if attrs.get("schema") != SCHEMA or attrs.get("benchmark") != name:
        return False
    solver = json.loads(attrs["solver"])
    settings = solver.get("settings", solver)
    return (json.loads(attrs["params"]) == params and int(settings.get("n", -1)) == n and nx == ny == n + 1
            and len(t) == len(t_coords) and np.allclose(t, t_coords, rtol=0, atol=_T_MATCH))


def existing_reference(problem, n: int, cache: pathlib.Path) -> tuple:
    """(path, "dataset" | "cache") of a finished reference of `problem` at solver grid n, or (None, "to solve")."""
    name, params = problem.name, dict(problem.params)
    t_coords = np.asarray(problem.reference.coords["t"])
    source = pathlib.Path(problem.source) if problem.source not in ("", "exact", "dataset") else None
    if source is not None and source.is_file() and _reference_matches(source, name, params, n, t_coords):
        return source, "dataset"
    path = pathlib.Path(cache) / f"n{n}" / f"{name}.h5"
    if path.is_file() and _reference_matches(path, name, params, n, t_coords):
        return path, "cache"
    return None, "to solve"


def solve_estimate(info: dict, n: int) -> float | None:
    """Expected seconds to solve a reference at grid n: the dataset's own solve time (``wall_time_s`` of its
    ``solver`` attribute, at its grid ``settings.n``) scaled by (n / n_dataset)^3 (n^2 modes, and a CFL-bound
    time step ~ 1/n). None when the dataset does not record them."""
    wall, n_data = info.get("wall_time_s"), info.get("settings", {}).get("n")
    if not wall or not n_data:
        return None
    return float(wall) * (n / float(n_data)) ** 3


def _plan_line(grids, plan: dict, info: dict) -> str:
    """One line: the grids, where each reference comes from, and the expected time of those to solve."""
    parts = [f"{n}: {how}" for n, (_, how) in plan.items()]
    todo = [n for n, (path, _) in plan.items() if path is None]
    estimates = [solve_estimate(info, n) for n in todo]
    if not todo:
        cost = "nothing to solve"
    elif None in estimates:
        cost = "solve time unknown (the dataset records none)"
    else:
        cost = (f"expected solve time about {_duration(sum(estimates))} (the dataset's "
                f"{_duration(float(info['wall_time_s']))} at n = {info['settings']['n']}, scaled as n^3)")
    return f"pinns spectrum: grids {', '.join(map(str, grids))}; references {'; '.join(parts)}; {cost}"


def _duration(seconds: float) -> str:
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def reference_file(problem, dataset_settings: dict, n: int, cache: pathlib.Path, quick: bool = False,
                   progress: bool = False) -> tuple:
    """(path, how) of a reference of `problem` at solver grid n: "dataset", "cache" or "generated".

    The run's dataset serves when it was solved at n on an (n + 1)^2 output grid;
    otherwise a file in ``cache/n{n}`` with matching parameters, else one is generated there with the
    dataset's PDE parameters and solver settings (`quick`: refsolvers' quick solver settings), the
    dataset's output times and no error-check companion run.
    """
    import refsolvers

    found = existing_reference(problem, n, cache)
    if found[0] is not None:
        return found
    name, params = problem.name, dict(problem.params)
    t_coords = np.asarray(problem.reference.coords["t"])
    folder = cache / f"n{n}"
    bench = refsolvers.get(name)
    solver = {} if quick else {k: v for k, v in dataset_settings.items() if k in bench.solver}
    solver.update(n=n, error_check=False) if "error_check" in bench.solver else solver.update(n=n)
    if not np.allclose(bench.coords(bench.settings(quick, nt=len(t_coords))[2])["t"], t_coords, rtol=0,
                       atol=_T_MATCH):
        raise ValueError(f"the run's dataset times are not {name}'s output times: cannot solve matching references")
    try:
        path = refsolvers.generate(name, folder, quick=quick, force=True, progress=progress,
                                   **params, **solver, nx=n + 1, ny=n + 1, nt=len(t_coords))
    except refsolvers.BlowUpError as exc:
        raise ValueError(f"the {name} reference at n = {n} blew up ({exc}): grid too coarse for these parameters") \
            from None
    return path, "generated"


# ----------------------------------------------------------------------------- the PINN


def periodic_grid(problem, n: int) -> tuple:
    """(y, x): n points per side of the periodic box, lo + j L / n (no repeated endpoint)."""
    return tuple(problem.domain[a][0] + (problem.domain[a][1] - problem.domain[a][0]) * np.arange(n) / n
                 for a in ("y", "x"))


def pinn_fields(run, state, n: int, time: float, names: tuple, chunk: int = CHUNK) -> dict:
    """The network's `names` on the n x n periodic grid at `time`: name -> (n, n), evaluated in chunks."""
    problem = run.problem
    y, x = periodic_grid(problem, n)
    mesh = np.meshgrid(y, x, indexing="ij")
    cols = {"t": np.full(n * n, float(time)), "y": mesh[0].ravel(), "x": mesh[1].ravel()}
    points = np.stack([cols[a] for a in problem.axes], axis=-1)
    derived = any(name in problem.derived for name in names)
    pred = run.trainer.predict(run.thetas(state), points, derived=derived, chunk=min(chunk, n * n))
    return {name: pred[name].reshape(n, n) for name in names}


# ----------------------------------------------------------------------------- comparison


def _check(problem, field: str, grids) -> tuple:
    if problem.axes != ("t", "y", "x") or not {"y", "x"} <= set(problem.periodic):
        raise ValueError(f"{problem.name}: spectra need a time-dependent problem periodic in y and x (periodic: "
                         f"{', '.join(problem.periodic) or 'none'})")
    lengths = {problem.domain[a][1] - problem.domain[a][0] for a in ("y", "x")}
    if len(lengths) != 1:
        raise ValueError(f"{problem.name}: spectra need a square box, got sides {sorted(lengths)}")
    have = set(problem.fields) | set(problem.derived)
    known = sorted(have & set(problem.reference.fields)) + ["velocity"] * ({"u", "v"} <= have)
    if field not in known:
        raise ValueError(f"{problem.name}: unknown spectrum field {field!r} (known: {', '.join(known)})")
    grids = sorted({int(g) for g in grids})
    if not grids or grids[0] < 4:
        raise ValueError(f"grids must be integers >= 4, got {grids}")
    return lengths.pop(), grids


def _times(run, state, times) -> list:
    """Output times of the run's reference to compare at: `times` snapped to them, or the last trained one."""
    problem, tr = run.problem, run.trainer
    t_ref = np.asarray(problem.reference.coords["t"])
    t_end = tr.window_bounds[len(run.thetas(state)) - 1][1]
    if times is None:
        trained = t_ref[t_ref <= t_end + 1e-12]
        return [float(trained[-1] if trained.size else t_ref[0])]
    out = []
    for time in times:
        i = int(np.argmin(np.abs(t_ref - float(time))))
        if not np.isclose(t_ref[i], float(time), rtol=0, atol=0.5 * np.min(np.diff(t_ref), initial=np.inf) + 1e-12):
            raise ValueError(f"t = {time} is outside the reference times [{t_ref[0]:g}, {t_ref[-1]:g}]")
        if float(t_ref[i]) not in out:
            out.append(float(t_ref[i]))
    return out


def _curve(k, e, n: int) -> dict:
    """The spectrum of an n x n grid as JSON lists, up to the shell k = n / 2 (in units of 2 pi / L).

    Shells beyond n / 2 lie only partly inside the n x n square of wavevectors the grid holds (its
    corners), so every curve of grid n stops at the same shell, the PINN's as the reference's."""
    shells = n // 2 + 1
    return {"k": [float(v) for v in k[:shells]], "E": [float(v) for v in e[:shells]]}


def comparison_figure(curves: dict, title: str, length: float = 1.0, floor: float = 1e-20):
    """Log-log Figure with a panel per time: `curves` maps time key -> {label: (k, E)}.

    k = 0 is skipped, and so are shells below `floor` times the largest E of the panel (the round-off
    plateau beyond a dealiasing cut-off would stretch the axis over 30 decades). The k axis is labelled
    by `refsolvers.spectrum.wavenumber_label` (the box side named, as in ``refsolvers plot --spectrum``).
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    fig = Figure(figsize=(6 * len(curves), 4.8), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(1, len(curves), sharey=True))
    for ax, (key, panel) in zip(axes, curves.items()):
        top = max((float(np.max(e)) for _, e in panel.values() if np.size(e)), default=0.0)
        for label, (k, e) in panel.items():
            k, e = np.asarray(k, float), np.asarray(e, float)
            ok = (k > 0) & (e > floor * top)
            ax.loglog(k[ok], e[ok], label=label, lw=1.2, ls="-" if label.startswith("PINN") else "--")
        ax.set(xlabel=wavenumber_label(length), title=f"t = {key}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("E(k)")
    fig.suptitle(title)
    return fig


def plot_comparison(curves: dict, path, title: str, length: float = 1.0) -> pathlib.Path:
    """Write `comparison_figure` to the PNG `path`; returns the path."""
    comparison_figure(curves, title, length).savefig(path, dpi=110)
    return pathlib.Path(path)


def spectrum_comparison(run_dir, grids=DEFAULT_GRIDS, times=None, field: str = "w", out=None, quick: bool = False,
                        cache=None, chunk: int = CHUNK, progress: bool = False, announce: bool = False) -> dict:
    """Energy spectra of the run's PINN and of references at each grid; writes JSON and PNG(s).

    Args:
        run_dir: a `pinns train` run folder (config.json, checkpoint.npz).
        grids: points per side of the n x n periodic evaluation grids (and reference solver grids).
        times: output times (snapped to the run dataset's times; default: the last trained one).
        field: "w" (vorticity, from the network's derivatives), "u", "v", or "velocity" (E_u + E_v).
        out: JSON path (default ``RUN_DIR/spectrum.json``); the PNGs go next to it.
        quick: references with refsolvers' quick solver settings (tests, demos), in ``spectrum_refs_quick``.
        cache: reference folder (default ``RUN_DIR/spectrum_refs`` or ``spectrum_refs_quick``).
        chunk: most points per network evaluation call (memory bound).
        progress: solver progress bars on stderr.
        announce: print one line on stderr before any solve: the grids, where each reference comes
            from (dataset, cache, to solve) and the expected solve time (`solve_estimate`).
    Returns:
        the JSON document: run, field, step, grids, times, references (path and origin per grid),
        curves (per time: label -> {"k", "E"}), pairs (list of {"time", "a", "b", "departure_k",
        "high_k_ratio", "k_max"}), json and png paths.
    Raises:
        FileNotFoundError / ValueError: not a run folder, a problem without a periodic square box,
        unknown field, bad grids or times.
    """
    from .eval import open_run

    run_dir = pathlib.Path(run_dir)
    run, state = open_run(run_dir)
    problem = run.problem
    length, grids = _check(problem, field, grids)
    chosen = _times(run, state, times)
    if problem.source in ("", "exact"):
        raise ValueError(f"{problem.name}: spectrum references need a refsolvers dataset (the run has none)")
    import h5py

    with h5py.File(problem.source, "r") as f:
        info = json.loads(f.attrs["solver"])
    settings = info.get("settings", {})
    cache = pathlib.Path(cache) if cache else run_dir / ("spectrum_refs_quick" if quick else "spectrum_refs")
    names = _components(field)
    if announce:
        import sys

        plan = {n: existing_reference(problem, n, cache) for n in grids}
        print(_plan_line(grids, plan, info), file=sys.stderr, flush=True)
    labels = {}
    curves = {_time_key(t): {} for t in chosen}
    references = {}
    for n in grids:
        path, how = reference_file(problem, settings, n, cache, quick=quick, progress=progress)
        references[str(n)] = {"path": str(path), "origin": how}
        ref_values = _read_reference(path, names, chosen)
        for t in chosen:
            key = _time_key(t)
            pinn = pinn_fields(run, state, n, t, names, chunk)
            curves[key][f"pinn_{n}"] = _curve(*field_spectrum(pinn, field, length, drop_endpoint=False), n)
            curves[key][f"ref_{n}"] = _curve(*field_spectrum(ref_values[t], field, length, drop_endpoint=True), n)
        labels[f"pinn_{n}"] = f"PINN {n}²"
        labels[f"ref_{n}"] = f"reference {n}²"

    finest = grids[-1]
    pairs = []
    for t in chosen:
        c = curves[_time_key(t)]
        todo = [(f"pinn_{n}", f"ref_{n}", n) for n in grids]
        todo += [(f"ref_{n}", f"ref_{finest}", n) for n in grids[:-1]]
        todo += [(f"pinn_{n}", f"ref_{finest}", n) for n in grids[:-1]]
        todo += [(f"pinn_{n}", f"pinn_{finest}", n) for n in grids[:-1]]
        for a, b, n in todo:
            pairs.append({"time": t, "a": a, "b": b, **compare_pair(np.asarray(c[b]["k"]), c[a]["E"], c[b]["E"], n,
                                                                    length)})

    out = pathlib.Path(out) if out else run_dir / "spectrum.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    what = {"w": "vorticity", "velocity": "kinetic energy"}.get(field, field)
    png = plot_comparison({key: {labels[lab]: (cv["k"], cv["E"]) for lab, cv in c.items()} for key, c in curves.items()},
                          out.with_suffix(".png"), f"{problem.name} {what} spectrum, step {state.step}", length)
    pngs = [str(png)]
    result = {"run_dir": str(run_dir), "problem": problem.name, "field": field, "step": state.step,
              "grids": grids, "times": chosen, "times_requested": None if times is None else [float(t) for t in times],
              "quick_references": quick, "references": references, "curves": curves, "pairs": pairs,
              "definition": {"E": "E(k) = 1/2 sum over |kappa| in [k-1/2, k+1/2) of |f_hat|^2, f_hat = fft2/n^2",
                             "departure_k": f"first k >= 1 with |E_a - E_b| > {DEPARTURE_REL:g} E_b (b the second of "
                                            f"the pair), shells below {DEPARTURE_FLOOR:g} max E_b ignored; null: never",
                             "high_k_ratio": "sum of E_a over sum of E_b in the shells k > k_max/2, k_max = n/2 "
                                             "of the coarser grid of the pair"},
              "json": str(out), "png": pngs}
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _time_key(t) -> str:
    return f"{t:g}"


def summary(result: dict) -> dict:
    """The result without the curves (what the command line prints)."""
    return {k: v for k, v in result.items() if k != "curves"}


__all__ = ["DEFAULT_GRIDS", "compare_pair", "existing_reference", "field_spectrum", "high_k_ratio", "pinn_fields",
           "comparison_figure", "plot_comparison", "reference_file", "solve_estimate", "spectrum_comparison",
           "summary"]
