"""Evaluate a run folder against its reference (dataset or exact solution) and draw it.

`evaluate(run_dir)` -> ``{"rel_l2": {field: ...}, "mse": {...}, "linf": {...}, "step": N}`` over the
whole reference grid (the paper's metric; for the inverse problem the field of interest is the
recovered coefficient ``a``). `plot_run` writes prediction | reference | error as a PNG.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from .train import CHECKPOINT_FILE, CONFIG_FILE, Run, RunState, TrainConfig, compared_fields, errors, load_problem


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
    problem = load_problem(cfg.problem, cfg.data or None)
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


def plot_run(run: Run, state: RunState, path, field: str | None = None) -> pathlib.Path:
    """PNG of prediction | reference | |error| for `field` (default: the first metric field).

    1-D problems show the (t, x) plane, steady 2-D problems the (y, x) plane, 2-D time-dependent
    problems the last time of the reference.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problem, ref = run.problem, run.problem.reference
    field = field or compared_fields(problem)[0]
    coords = ref.coords
    axes = list(coords)
    if len(axes) == 3:  # (t, y, x): last snapshot
        sub = {"t": coords["t"][-1:], axes[1]: coords[axes[1]], axes[2]: coords[axes[2]]}
        truth = np.asarray(ref.fields[field])[-1]
        title = f"t = {coords['t'][-1]:.3g}"
    else:
        sub = coords
        truth = np.asarray(ref.fields[field])
        title = ""
    mesh = np.meshgrid(*sub.values(), indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=-1)
    pred = run.trainer.predict(run.thetas(state), pts)[field].reshape(truth.shape)
    rows, cols = list(sub)[-2], list(sub)[-1]
    extent = [sub[cols][0], sub[cols][-1], sub[rows][0], sub[rows][-1]]
    fig, axs = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    lo, hi = float(np.min(truth)), float(np.max(truth))
    for ax, img, name, kw in ((axs[0], pred, "prediction", {"vmin": lo, "vmax": hi}),
                              (axs[1], truth, "reference", {"vmin": lo, "vmax": hi}),
                              (axs[2], np.abs(pred - truth), "|error|", {"cmap": "magma"})):
        im = ax.imshow(img, origin="lower", aspect="auto", extent=extent, **kw)
        ax.set_title(f"{field} {name}")
        ax.set_xlabel(cols)
        ax.set_ylabel(rows)
        fig.colorbar(im, ax=ax)
    rel = np.linalg.norm(pred - truth) / max(np.linalg.norm(truth), 1e-300)
    fig.suptitle(f"{problem.name}, step {state.step}{', ' + title if title else ''}: rel L2 {rel:.3e}")
    path = pathlib.Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = ["evaluate", "evaluate_run", "open_run", "plot_run"]
