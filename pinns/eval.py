"""Evaluate a run folder against its reference (dataset or exact solution) and draw it.

`evaluate(run_dir)` -> ``{"rel_l2": {field: ...}, "mse": {...}, "linf": {...}, "step": N}`` over the
whole reference grid (the paper's metric; for the inverse problem the field of interest is the
recovered coefficient ``a``). `plot_run` writes prediction | reference | error as a PNG.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from .config import CHECKPOINT_FILE, CONFIG_FILE, TrainConfig
from .metrics import compared_fields, errors, median_steps_per_s, read_metrics
from .run import Run, RunState, load_problem


def open_run(run_dir) -> tuple:
    """(Run, RunState) of the checkpoint in `run_dir`.

    Raises:
        FileNotFoundError: not a run folder (no config.json / checkpoint.npz).
        pinns.checkpoint.CheckpointError: unreadable checkpoint.
    """
    import jax

    run_dir = pathlib.Path(run_dir)
    cfg_path = run_dir / CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} has no {CHECKPOINT_FILE} (training never saved)")
    try:
        cfg = TrainConfig.from_dict(json.loads(cfg_path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{cfg_path} is not a pinns configuration ({exc})") from None
    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    problem = load_problem(cfg.problem, cfg.data or None, cfg.data_sha256)
    run = Run(run_dir, problem, cfg)
    return run, run.restore()


def evaluate_run(run: Run, state: RunState) -> dict:
    """Errors of the trained windows over the whole reference grid."""
    problem = run.problem
    names = compared_fields(problem)
    pred = run.trainer.predict(run.thetas(state), problem.reference.points())
    result = errors(pred, {k: problem.reference.fields[k] for k in names}, names)
    result["step"] = state.step
    return result


def evaluate(run_dir) -> dict:
    """`evaluate_run` of the checkpoint in `run_dir`."""
    return evaluate_run(*open_run(run_dir))


def plot_times(times, n: int = 3) -> list:
    """Indices of `n` evenly spaced output times (first, ..., last) of a (t, y, x) field."""
    return sorted(set(np.linspace(0, len(times) - 1, n).round().astype(int).tolist()))


ERROR_CMAP = "magma"
"""Colormap of the |error| panels (non-negative). The field panels follow the convention of ``refsolvers plot``
(`refsolvers.plotting`: time vertical and x horizontal, ``CMAP_SIGNED`` centred on zero for signed fields,
``CMAP_SEQUENTIAL`` for fields of one sign)."""


def field_style(values) -> dict:
    """imshow keywords of a field panel: `refsolvers.plotting.image_style` (the shared convention)."""
    from refsolvers.plotting import image_style

    return image_style(values)


def plot_run(run: Run, state: RunState, path, field: str | None = None, n_times: int = 3) -> pathlib.Path:
    """PNG of prediction | reference | |error| for `field` (default: the first metric field); see `run_figure`."""
    fig = run_figure(run, state, field, n_times)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=90)
    return path


def run_figure(run: Run, state: RunState, field: str | None = None, n_times: int = 3):
    """The matplotlib Figure of prediction | reference | |error| for `field` (default: the first metric field).

    1-D problems show the (t, x) plane (t vertical, x horizontal), steady 2-D problems the (y, x) plane,
    2-D time-dependent problems one row per time (`n_times` evenly spaced output times, first to last).
    Colours follow `field_style` (prediction and reference share limits; the error uses `ERROR_CMAP`).
    Each panel has a labelled colour bar; row titles give the relative L2 error of that plane, the
    figure title the problem, the step and the error over all planes shown.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    problem, ref = run.problem, run.problem.reference
    field = field or compared_fields(problem)[0]
    coords, values = ref.coords, np.asarray(ref.fields[field])
    axes = list(coords)
    if len(axes) == 3:  # (t, y, x): one row per time
        rows = [({**coords, axes[0]: coords[axes[0]][i:i + 1]}, values[i], f"t = {coords[axes[0]][i]:.3g}")
                for i in plot_times(coords[axes[0]], n_times)]
    else:
        rows = [(coords, values, "")]
    ylab, xlab = axes[-2], axes[-1]  # (t, x) or (y, x): time / y vertical, x horizontal
    spatial = "t" not in (ylab, xlab)
    fig = Figure(figsize=(13, 3.6 * len(rows)), constrained_layout=True)
    axs = np.atleast_2d(fig.subplots(len(rows), 3, squeeze=False))
    sq_err = sq_ref = 0.0
    style = field_style(values)
    for row, (sub, truth, label) in zip(axs, rows):
        mesh = np.meshgrid(*sub.values(), indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=-1)
        pred = run.trainer.predict(run.thetas(state), pts)[field].reshape(truth.shape)
        err = np.abs(pred - truth)
        sq_err, sq_ref = sq_err + np.sum(err**2), sq_ref + np.sum(truth**2)
        rel = np.sqrt(np.sum(err**2) / max(np.sum(truth**2), 1e-300))
        extent = [sub[xlab][0], sub[xlab][-1], sub[ylab][0], sub[ylab][-1]]
        where = f"{label}: " if label else ""
        for ax, img, name, kw in ((row[0], pred, f"{where}PINN prediction", style),
                                  (row[1], truth, f"{where}reference", style),
                                  (row[2], err, f"{where}|error|, rel L2 {rel:.2e}", {"cmap": ERROR_CMAP})):
            im = ax.imshow(img, origin="lower", aspect="equal" if spatial else "auto", extent=extent, **kw)
            ax.set(title=name, xlabel=xlab, ylabel=ylab)
            fig.colorbar(im, ax=ax, label=f"|{field} − {field}_ref|" if img is err else field)
    total = np.sqrt(sq_err / max(sq_ref, 1e-300))
    shown = f"over the {len(rows)} times shown" if len(rows) > 1 else "over the whole grid"
    fig.suptitle(f"{problem.name}, field {field}, step {state.step}: rel L2 {total:.3e} {shown} "
                 "(non-dimensional units)")
    return fig


__all__ = ["ERROR_CMAP", "evaluate", "evaluate_run", "field_style",
           "median_steps_per_s", "open_run", "plot_run", "plot_times", "read_metrics", "run_figure"]
