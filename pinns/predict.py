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

__all__ = ["predict_to_h5"]


def predict_to_h5(run_dir, out) -> pathlib.Path:
    """Write the run's prediction on its reference grid to `out` (HDF5, schema refsolvers/1); returns the path.

    Fields: every network output and derived field that the reference also has, on the reference's
    coordinates (time, then y, then x). Raises FileNotFoundError / ValueError for a folder that is not a run.
    """
    from refsolvers._io import write_h5

    from .eval import evaluate_run, open_run

    run, state = open_run(run_dir)
    problem = run.problem
    ref = problem.reference
    names = [f for f in ref.fields if f in set(problem.fields) | set(problem.derived)]
    pred = run.trainer.predict(run.thetas(state), ref.points())
    fields = {k: np.asarray(pred[k], np.float64).reshape(ref.shape) for k in names}
    errors = evaluate_run(run, state)
    cfg = run.cfg.to_dict()
    solver = {"method": "physics-informed neural network", "network": cfg["net"], "optimizer": cfg["optimizer"],
              "step": state.step, "dtype": cfg["dtype"]}
    out = pathlib.Path(out)
    if out.suffix != ".h5":
        raise ValueError(f"--out must name an .h5 file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_h5(out, problem.name, dict(ref.coords), fields, problem.params, solver,
                    equation=f"PINN prediction of {problem.name}",
                    extra_attrs={"source": "pinn", "run_dir": str(pathlib.Path(run_dir).resolve()),
                                 "run_config": json.dumps(cfg), "step": int(state.step),
                                 "errors": json.dumps(errors), "reference": problem.source})
