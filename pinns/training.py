"""The training entry point: `train(name, out_dir, ...)` (what ``pinns train`` runs).

``resume="auto"`` is the harness the reproduction scripts share: a folder without a checkpoint is
trained, one with a checkpoint of the same settings is continued (bit for bit; a finished one is
only evaluated again), one of other settings is refused (`check_settings`).
"""

from __future__ import annotations

import json
import math
import pathlib

import jax
import jax.numpy as jnp

from .config import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, TrainConfig, make_config, validate
from .eval import evaluate_run, plot_run
from .run import ITERATIONS_FILE, STOP_FILE, Run, dataset_sha256, load_problem


AUTO_IGNORED = ("data", "data_sha256", "steps")
"""Settings ``resume="auto"`` does not compare: where the dataset was found, and the step count (it may grow)."""


def check_settings(out_dir, **want) -> None:
    """Refuse (one-line ValueError) a run folder whose ``config.json`` differs from `want`.

    Args:
        out_dir: run folder holding ``config.json``.
        **want: TrainConfig fields and their expected values; None values are not compared.
    """
    folder = pathlib.Path(out_dir)
    cfg = json.loads((folder / CONFIG_FILE).read_text())
    # settings added since the folder was written count as their defaults (an older run still resumes)
    full = json.loads(json.dumps(TrainConfig.from_dict(cfg).to_dict()))
    cfg = {**full, **cfg, "net": {**full["net"], **cfg.get("net", {})}}
    diff = {k: (cfg.get(k), v) for k, v in want.items() if v is not None and cfg.get(k) != v}
    if diff:
        detail = ", ".join(f"{k} {a!r} != {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"{folder} holds a run with other settings ({detail}); use another --out")


def _auto_resume(name: str, out: pathlib.Path, data, preset: str, overrides: dict) -> bool:
    """``resume="auto"``: True to continue the checkpoint in `out` (same settings), False to train afresh."""
    if not (out / CHECKPOINT_FILE).exists():
        return False
    problem = load_problem(name, data)
    want = make_config(problem, preset, **overrides).to_dict()
    check_settings(out, **{k: v for k, v in want.items() if k not in AUTO_IGNORED})
    return True


def settings_problem(name: str, data=None):
    """Problem `name` for reading its settings only (`pinns presets`): from `data` when given, from its
    exact solution when it has one, else from a placeholder dataset of zeros on the benchmark's quick
    output grid (the presets do not depend on the dataset's values)."""
    from .problems import EXACT, PROBLEMS, get_problem

    if data is not None or name in EXACT or name not in PROBLEMS:  # an unknown name: get_problem's one line
        return load_problem(name, data)
    import numpy as np

    import refsolvers
    from refsolvers._io import Dataset

    bench = refsolvers.get(name)
    coords = bench.coords(bench.settings(quick=True)[2])
    ds = Dataset({f: np.zeros(tuple(len(c) for c in coords.values())) for f in bench.fields})
    ds.benchmark, ds.coords, ds.params, ds.solver, ds.attrs, ds.path = name, coords, dict(bench.params), {}, {}, ""
    problem = get_problem(name, ds)
    if problem.initial_fn is not None and "t" in coords:  # the true initial data (hard constraints check it)
        values = np.asarray(jax.vmap(problem.initial_fn)(jnp.asarray(problem.initial[0])))
        for i, f in enumerate(problem.ic_fields):
            ds[f][0] = values[:, i].reshape(ds[f].shape[1:])
        problem = get_problem(name, ds)
    return problem


def preset_configs(name: str, preset: str | None = None, data=None) -> dict:
    """{preset: resolved configuration (dict)} of problem `name`: every preset, or only `preset`."""
    problem = settings_problem(name, data)
    names = [preset] if preset else list(problem.presets)
    extra = {"data": str(pathlib.Path(data).resolve()), "data_sha256": dataset_sha256(problem)} if data else {}
    return {p: make_config(problem, p, **extra).to_dict() for p in names}


def check_budget(budget_s) -> None:
    """ValueError (one line) unless `budget_s` is None or a finite number of seconds > 0."""
    if budget_s is not None and not (isinstance(budget_s, (int, float)) and math.isfinite(budget_s) and budget_s > 0):
        raise ValueError(f"budget must be a positive number of seconds, got {budget_s!r}")


def resolve(name: str, out_dir, data=None, preset: str = "paper", resume: bool | str = False, **overrides) -> tuple:
    """(problem, TrainConfig, resume: bool) of a `train` call, checked, before anything is written.

    Raises ValueError / FileNotFoundError / FileExistsError (one line) for what `train` would refuse.
    """
    out = pathlib.Path(out_dir)
    if resume == "auto":
        resume = _auto_resume(name, out, data, preset, overrides)
        if resume:  # the settings were compared in full: only the step count goes on
            overrides = {"steps": overrides.get("steps")}
    elif resume not in (True, False):
        raise ValueError(f"resume must be True, False or 'auto', got {resume!r}")
    if resume:
        cfg_path = out / CONFIG_FILE
        if not cfg_path.is_file():
            raise FileNotFoundError(f"nothing to resume: {cfg_path} does not exist")
        saved = json.loads(cfg_path.read_text())
        if saved["problem"] != name:
            raise ValueError(f"{out} is a run of {saved['problem']!r}, not {name!r}")
        problem = load_problem(name, saved["data"] or None, saved.get("data_sha256", ""))
        allowed = {"steps", "until_loss"}  # how long to go on may change; what is trained may not
        changed = {k: v for k, v in overrides.items() if v is not None and k not in allowed and saved.get(k) != v}
        if changed:
            raise ValueError(f"--resume keeps the saved configuration; cannot change {', '.join(sorted(changed))}")
        saved.update({k: v for k, v in overrides.items() if k in allowed and v is not None})
        cfg = TrainConfig.from_dict(saved)
        validate(cfg, problem)
    else:
        problem = load_problem(name, data)
        # the dataset as an absolute path and its content hash: the run folder works from any directory
        cfg = make_config(problem, preset, data=str(pathlib.Path(data).resolve()) if data else "",
                          data_sha256=dataset_sha256(problem), **overrides)
        if (out / CHECKPOINT_FILE).exists():
            raise FileExistsError(f"{out} already holds a run (use --resume, or another --out)")
    return problem, cfg, bool(resume)


def train(name: str, out_dir, data=None, preset: str = "paper", resume: bool | str = False, progress: bool = True,
          devices=None, budget_s: float | None = None, **overrides) -> dict:
    """Train problem `name` into run folder `out_dir`; returns the final evaluation (see `pinns.eval`).

    Args:
        name: problem name (`pinns.problems.PROBLEMS`).
        out_dir: run folder (created; must not hold a checkpoint unless `resume`).
        data: dataset folder or file (None for exact problems).
        preset: "paper", "quick" or "accurate".
        resume: True: continue the checkpoint in `out_dir` with its saved configuration (`steps` may
            be raised through `overrides`). "auto": continue it when it exists and holds a run of these
            settings (else ValueError), train afresh when there is none; a finished run is evaluated again.
        budget_s: wall-clock seconds for this call (> 0): training stops (checkpointed) after the chunk
            that crosses it and the evaluation is returned; ``resume`` continues it (None: no limit).
        **overrides: TrainConfig fields (optimizer, balance, steps, seed, batch, ...).

    Everything is checked (`resolve`, `check_budget`) before the run folder is created.
    """
    check_budget(budget_s)
    out = pathlib.Path(out_dir)
    problem, cfg, resume = resolve(name, out, data, preset, resume, **overrides)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    run = Run(out, problem, cfg, devices)
    if resume:
        state = run.restore()
        if state.step >= run.total_steps:  # finished: evaluated again, nothing in the folder changes
            return evaluate_run(run, state)
        run.truncate_metrics(state.step)
    else:
        for name in (METRICS_FILE, ITERATIONS_FILE, STOP_FILE):
            (out / name).unlink(missing_ok=True)
        state = run.fresh_state()
    (out / CONFIG_FILE).write_text(json.dumps(cfg.to_dict(), indent=1) + "\n")
    state = run.train(state, progress=progress, budget_s=budget_s)
    result = evaluate_run(run, state)
    plot_run(run, state, out / "prediction.png")
    return result


__all__ = ["AUTO_IGNORED", "check_budget", "check_settings", "preset_configs", "resolve", "settings_problem", "train"]
