"""`pinns predict RUN --out FILE.h5`: a trained network's fields on its reference's output grid.

The file is written by refsolvers' own writer in the same ``refsolvers/1`` contract as a reference
(float64 fields with ``dims``, coordinates as dimension scales, atomic write), so every tool that reads
a reference (``refsolvers info``, ``refsolvers.read_h5``, xarray) reads a prediction. Root attributes
name the run: ``source = "pinn"``, ``run_dir`` (absolute), ``run_config`` (the run's config.json),
``step``, and ``errors`` (rel L2 / MSE / L-inf against the reference over the same grid).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

__all__ = ["existing_prediction", "predict_to_h5"]


def existing_prediction(out, run_dir) -> str:
    """What an existing `out` is, relative to the checkpoint in `run_dir`: "same" (made from this run's
    configuration at its current step), "other" (anything else, including a file that is not a
    prediction), or "" (no file)."""
    import h5py

    from .checkpoint import read_meta
    from .config import CHECKPOINT_FILE, CONFIG_FILE, TrainConfig

    out, run_dir = pathlib.Path(out), pathlib.Path(run_dir)
    if not out.exists():
        return ""
    try:
        with h5py.File(out, "r") as f:
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        cfg = TrainConfig.from_dict(json.loads((run_dir / CONFIG_FILE).read_text())).to_dict()
        same = (attrs.get("source") == "pinn" and attrs.get("run_dir") == str(run_dir.resolve())
                and int(attrs.get("step", -1)) == int(read_meta(run_dir / CHECKPOINT_FILE)["step"])
                and json.loads(attrs.get("run_config", "null")) == json.loads(json.dumps(cfg)))
    except (OSError, ValueError, KeyError, TypeError):
        return "other"
    return "same" if same else "other"


def predict_to_h5(run_dir, out, force: bool = False) -> pathlib.Path:
    """Write the run's prediction on its reference grid to `out` (HDF5, schema refsolvers/1); returns the path.

    Fields: every network output and derived field that the reference also has, on the reference's
    coordinates (time, then y, then x). An existing `out` (the rule of ``refsolvers generate``): made
    from this run's configuration at the checkpoint's step, it is kept (one line on stderr says so);
    made otherwise, FileExistsError unless `force`.

    Raises:
        FileNotFoundError / ValueError: a folder that is not a run, `out` not an .h5 file.
        FileExistsError: `out` exists and was not made from this run at this step (without `force`).
    """
    import sys

    from refsolvers._io import write_h5

    from .eval import evaluate_run, open_run

    out = pathlib.Path(out)
    if out.suffix != ".h5":
        raise ValueError(f"--out must name an .h5 file, got {out}")
    if out.is_dir():
        raise IsADirectoryError(f"--out {out} is a folder; name an .h5 file")
    run, state = open_run(run_dir)  # not a run folder: refused before `out` is looked at
    existing = "" if force else existing_prediction(out, run_dir)
    if existing == "same":
        print(f"pinns: {out} exists, made from this run at step {state.step}: kept (--force rewrites it)",
              file=sys.stderr)
        return out
    if existing == "other":
        raise FileExistsError(f"{out} exists, not made from {run_dir} at step {state.step}; --force overwrites it "
                              "(or use another --out)")
    problem = run.problem
    ref = problem.reference
    names = [f for f in ref.fields if f in set(problem.fields) | set(problem.derived)]
    pred = run.trainer.predict(run.thetas(state), ref.points())
    fields = {k: np.asarray(pred[k], np.float64).reshape(ref.shape) for k in names}
    errors = evaluate_run(run, state)
    cfg = run.cfg.to_dict()
    solver = {"method": "physics-informed neural network", "network": cfg["net"], "optimizer": cfg["optimizer"],
              "step": state.step, "dtype": cfg["dtype"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_h5(out, problem.name, dict(ref.coords), fields, problem.params, solver,
                    equation=f"PINN prediction of {problem.name}",
                    extra_attrs={"source": "pinn", "run_dir": str(pathlib.Path(run_dir).resolve()),
                                 "run_config": json.dumps(cfg), "step": int(state.step),
                                 "errors": json.dumps(errors), "reference": problem.source})
