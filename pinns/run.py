"""A training run in a folder: state, checkpoints, the chunked loop, metrics lines, time windows.

`Run` owns a run folder (``config.json``, ``metrics.jsonl``, ``checkpoint.npz``): it builds the
fresh state or restores the checkpoint, runs the jitted step chunks of its `pinns.trainer.Trainer`
(`train`), checks for non-finite losses after each chunk, logs one metrics line every `log_every`
steps, writes a checkpoint every `ckpt_every` and moves from one time window to the next (window
k starts from the prediction of window k - 1 at its end time, its network from window k - 1's
parameters, with a fresh optimizer state and the schedule restarted).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import sys
import time
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import checkpoint as ckpt
from .config import CHECKPOINT_FILE, METRICS_FILE, TrainConfig, TrainingError
from .metrics import append_record, errors, evaluation_points
from .problems import Problem, get_problem
from .trainer import Trainer

ITERATIONS_FILE = "iterations.jsonl"
"""Per-iteration lines of the Gauss-Newton phases (`Run.log_iterations`)."""
STOP_FILE = "stop.json"
"""Why the last `Run.train` call ended (`Run.write_stop`)."""


def load_problem(name: str, data, sha256: str = "") -> Problem:
    """The problem `name` with its dataset (None for exact problems).

    `sha256`: the ``fields_sha256`` the run was trained on (``config.json``'s ``data_sha256``); a
    dataset whose fields differ gets a one-line warning on stderr (the run is still opened).
    """
    problem = get_problem(name, data if data else None)
    if sha256 and dataset_sha256(problem) != sha256:
        print(f"pinns: warning: the dataset {problem.source} differs from the one this run was trained on "
              f"(fields_sha256 {dataset_sha256(problem)[:12]}..., trained on {sha256[:12]}...)", file=sys.stderr)
    return problem


def dataset_sha256(problem: Problem) -> str:
    """``fields_sha256`` of the problem's dataset ("" for exact problems).

    refsolvers writes it as a root attribute (sha256 over the fields in name order, each name's
    bytes then its float64 values); a file without it gets the same digest computed here.
    """
    path = pathlib.Path(problem.source or "")
    if not path.is_file():
        return ""
    import h5py

    with h5py.File(path, "r") as f:
        value = f.attrs.get("fields_sha256")
        if value is not None:
            return value.decode() if isinstance(value, bytes) else str(value)
        fields = {k: f[k][()] for k in f if k not in ("t", "x", "y")}
    digest = hashlib.sha256()
    for name in sorted(fields):
        digest.update(name.encode() + np.ascontiguousarray(fields[name], dtype=np.float64).tobytes())
    return digest.hexdigest()


def _finite_or_none(x):
    """float(x), or None where it is not finite (JSON has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass
class RunState:
    """Host-side state of a run: global step, current window, the step carry, finished windows."""

    step: int
    window: int
    carry: dict
    ic_values: object
    done: list

    def tree(self) -> dict:
        return {"carry": self.carry, "ic": self.ic_values if self.ic_values is not None else jnp.zeros(0),
                "done": self.done}



class Run:
    """A training run in a folder: config.json, metrics.jsonl, checkpoint.npz, prediction.png.

    Args:
        out_dir: run folder.
        problem, cfg: what to train.
        devices: mesh devices (default all).
        trainer: reuse a `Trainer` of the same problem and config (its compiled steps).
    """

    def __init__(self, out_dir, problem: Problem, cfg: TrainConfig, devices=None, trainer: Trainer | None = None):
        self.dir = pathlib.Path(out_dir)
        self.problem, self.cfg = problem, cfg
        self.trainer = trainer if trainer is not None else Trainer(problem, cfg, devices)
        self.base_key = jax.random.PRNGKey(cfg.seed)
        self.eval_pts, self.eval_ref = evaluation_points(problem, cfg.eval_points)
        self.total_steps = cfg.steps * cfg.windows

    # -------------------------------------------------------------- state

    def fresh_state(self) -> RunState:
        tr = self.trainer
        theta = tr.init_params(jax.random.fold_in(self.base_key, 0))
        carry = tr.init_carry(theta)
        if self.cfg.resample_every:
            carry = self._resample(carry, 0, 0, tr.initial_values)
        return RunState(0, 0, self._place(carry), tr.initial_values, [])

    def _resample(self, carry, step: int, window: int, ic_values, phase: int = 0) -> dict:
        tr = self.trainer
        ta, tb = tr.window_bounds[window]
        ic = ic_values if ic_values is not None else jnp.zeros(0)
        return tr.resample(carry, jnp.int32(step), jax.random.fold_in(self.base_key, 1), ta, tb, ic, phase)

    def _place(self, tree):
        return jax.device_put(tree, self.trainer.replicated)

    def save(self, state: RunState) -> None:
        ckpt.save(self.dir / CHECKPOINT_FILE, state.tree(), step=state.step, window=state.window,
                  problem=self.problem.name, version=1)

    def restore(self) -> RunState:
        path = self.dir / CHECKPOINT_FILE
        meta = ckpt.read_meta(path)
        if meta.get("problem") != self.problem.name:
            raise ckpt.CheckpointError(f"checkpoint {path} is for {meta.get('problem')!r}, not {self.problem.name!r}")
        fresh = self.fresh_state()
        n_done = int(meta["window"])
        phase = self.trainer.phase_at(int(meta["step"]) - n_done * self.cfg.steps)
        if phase:  # the optimizer state of the phase the checkpoint was written in
            fresh.carry["opt"] = self.trainer.phases[phase].optimizer.init(fresh.carry["theta"])
        template = {"carry": fresh.carry, "ic": fresh.ic_values if fresh.ic_values is not None else jnp.zeros(0),
                    "done": [fresh.carry["theta"]] * n_done}
        tree, meta = ckpt.load(path, template)
        ic = None if fresh.ic_values is None else jnp.asarray(tree["ic"])
        return RunState(int(meta["step"]), n_done, self._place(tree["carry"]), ic,
                        [self._place(t) for t in tree["done"]])

    # -------------------------------------------------------------- loop

    def log_metrics(self, state: RunState, out: dict, wall: float, rate: float) -> dict:
        tr, last = self.trainer, {k: np.asarray(v)[-1] for k, v in out.items()}
        ta, tb = tr.window_bounds[state.window]
        thetas = state.done + [state.carry["theta"]]
        pts, ref = self.eval_pts, self.eval_ref
        if tr.t_axis is not None:
            keep = pts[:, tr.t_axis] <= tb + 1e-12
            pts, ref = pts[keep], {k: v[keep] for k, v in ref.items()}
        err = errors(tr.predict(thetas, pts), ref, list(ref)) if len(pts) else {"rel_l2": {}, "mse": {}}
        intra = float("nan")
        if self.cfg.log_alignment:
            key = jax.random.fold_in(jax.random.fold_in(self.base_key, 2), state.step)
            intra = tr.intra_alignment(state.carry["theta"], key, ta, tb,
                                       state.ic_values if state.ic_values is not None else jnp.zeros(0))
        local = state.step - state.window * self.cfg.steps
        record = {"step": state.step, "window": state.window, "loss": float(last["loss"]),
                  **{t: float(v) for t, v in zip(tr.terms, last["terms"])},
                  "weights": {t: float(v) for t, v in zip(tr.terms, last["weights"])},
                  "causal_min_weight": float(last["causal_min"]), "lr": float(tr.schedule(local - 1)),
                  "alignment_intra": float(intra) if self.cfg.log_alignment else None, "alignment_inter": _finite_or_none(last["inter_alignment"]),
                  "rel_l2": err["rel_l2"], "mse": err["mse"], "wall_s": round(wall, 3), "steps_per_s": round(rate, 2)}
        if len(tr.phases) > 1:
            record["phase"] = tr.phases[tr.phase_at(local - 1)].name
        if "damping" in out:  # Gauss-Newton phase: the damping state after the chunk
            opt = state.carry["opt"]
            record.update(lm_damping=_finite_or_none(last["damping"]), lm_accepted=int(opt.n_accepted),
                          lm_trials=int(opt.n_trials))
        if "linesearch_evals" in out:
            record["linesearch_evals"] = int(np.asarray(out["linesearch_evals"])[-1])
            qn = getattr(state.carry["opt"][0], "n_updates", None)
            if qn is not None:
                record.update(qn_updates=int(qn), qn_skipped=int(state.carry["opt"][0].n_skipped),
                              qn_resets=int(state.carry["opt"][0].n_resets))
        append_record(self.dir, record)
        return record

    def next_window(self, state: RunState) -> RunState:
        """Finish window k: its end prediction becomes window k+1's initial data."""
        tr = self.trainer
        theta = state.carry["theta"]
        ic = state.ic_values
        if ic is not None:
            tb = tr.window_bounds[state.window][1]
            pts = np.concatenate([np.full((tr.ic_points.shape[0], 1), tb), np.asarray(tr.ic_points)], axis=1)
            pred = tr.predict([theta], pts, derived=False, chunk=min(8192, len(pts)))
            ic = jnp.asarray(np.stack([pred[f] for f in self.problem.ic_fields], axis=-1), tr.dtype)
        return RunState(state.step, state.window + 1, self._place(tr.init_carry(theta)), ic, state.done + [theta])

    def train(self, state: RunState, progress: bool = True, on_record: Callable | None = None,
              until: int | None = None, budget_s: float | None = None) -> RunState:
        """Run from `state` to `cfg.steps * cfg.windows` steps (or `until`); returns the final state.

        `budget_s`: stop (checkpointed) after the first chunk that ends this many wall seconds after the
        call; the run continues with ``resume``.

        Raises:
            TrainingError: a non-finite loss (the last good checkpoint is kept).
            KeyboardInterrupt: after saving the last completed chunk.
        """
        from tqdm.auto import tqdm

        cfg, tr = self.cfg, self.trainer
        bar = tqdm(total=self.total_steps, initial=state.step, disable=not progress, unit="step",
                   dynamic_ncols=True, desc=self.problem.name)
        wall0 = time.perf_counter() - self._previous_wall()
        until = min(until or self.total_steps, self.total_steps)
        started = time.perf_counter()
        reason = "finished"
        try:
            while state.step < until and (budget_s is None or time.perf_counter() - started < budget_s):
                if state.step >= (state.window + 1) * cfg.steps:
                    state = self.next_window(state)
                    self.save(state)
                window_start, window_end = state.window * cfg.steps, (state.window + 1) * cfg.steps
                local = state.step - window_start
                # chunk ends are fixed multiples (log_every, gradnorm_every in the window, window end),
                # so a resumed run executes exactly the chunks of an uninterrupted one
                end = min(window_end, (state.step // cfg.log_every + 1) * cfg.log_every, until)
                if tr.gradnorm:
                    end = min(end, window_start + (local // cfg.gradnorm_every + 1) * cfg.gradnorm_every)
                phase = tr.phase_at(local)
                end = min(end, window_start + tr.phases[phase].end)
                if cfg.resample_every:
                    end = min(end, window_start + (local // cfg.resample_every + 1) * cfg.resample_every)
                n = end - state.step
                ta, tb = tr.window_bounds[state.window]
                ic = state.ic_values if state.ic_values is not None else jnp.zeros(0)
                key = jax.random.fold_in(self.base_key, 1)
                t_chunk = time.perf_counter()
                carry = state.carry
                if tr.gradnorm and local % cfg.gradnorm_every == 0:
                    carry = tr.refresh_weights(carry, jnp.int32(state.step), key, ta, tb, ic)
                if cfg.resample_every and local % cfg.resample_every == 0 and local > 0:
                    carry = self._resample(carry, state.step, state.window, state.ic_values, phase)
                carry, out = tr.chunk_fn(n, phase)(carry, jnp.int32(state.step), key, ta, tb, ic)
                if end - window_start == tr.phases[phase].end and phase + 1 < len(tr.phases):
                    # the next phase starts from these parameters with a fresh optimizer state
                    carry = {**carry, "opt": tr.phases[phase + 1].optimizer.init(carry["theta"])}
                losses = np.asarray(out["loss"])
                rate = n / max(time.perf_counter() - t_chunk, 1e-9)
                if "damping" in out:
                    self.log_iterations(state.step, out, time.perf_counter() - wall0, n / rate)
                if not np.all(np.isfinite(losses)):
                    bad = int(np.argmin(np.isfinite(losses)))
                    terms = np.asarray(out["terms"])[bad]
                    detail = ", ".join(f"{t}={v:.3g}" for t, v in zip(tr.terms, terms))
                    raise TrainingError(f"loss became non-finite at step {state.step + bad + 1} ({detail}); "
                                        f"stopped, last checkpoint kept at step {self._saved_step()}")
                state = RunState(end, state.window, carry, state.ic_values, state.done)
                bar.update(n)
                if end % cfg.log_every == 0 or end in (window_end, until):
                    record = self.log_metrics(state, out, time.perf_counter() - wall0, rate)
                    if on_record:
                        on_record(record)
                    bar.set_postfix(loss=f"{record['loss']:.3e}",
                                    rel_l2=",".join(f"{v:.2e}" for v in record["rel_l2"].values()))
                if end % cfg.ckpt_every == 0 or end == window_end:
                    self.save(state)
                if cfg.until_loss and losses[-1] <= cfg.until_loss:
                    reason = f"until_loss: batch loss {losses[-1]:.3e} <= {cfg.until_loss:g}"
                    break
            else:
                reason = "finished" if state.step >= self.total_steps else \
                    ("until" if state.step >= until else f"budget: {budget_s:g} s")
        except KeyboardInterrupt:
            self.save(state)
            self.write_stop(state, "interrupted")
            raise
        except TrainingError as err:
            self.write_stop(state, f"non-finite loss: {err}")
            raise
        finally:
            bar.close()
        self.save(state)
        self.write_stop(state, reason)
        return state

    def write_stop(self, state: RunState, reason: str) -> None:
        """``stop.json``: why the last `train` call ended (finished, budget, until_loss, interrupted, ...)."""
        record = {"reason": reason, "step": state.step, "window": state.window, "total_steps": self.total_steps}
        if self.dir.is_dir():
            (self.dir / STOP_FILE).write_text(json.dumps(record) + "\n")

    def log_iterations(self, start: int, out: dict, wall: float, chunk_s: float) -> None:
        """One line per Gauss-Newton iteration in ``iterations.jsonl``: step, batch loss before the step, damping
        after it, gain ratio, accepted, trials, CG iterations; ``wall_s`` is the chunk's end time spread evenly
        over its iterations (the iterations of one jitted chunk are not timed one by one)."""
        n = len(np.asarray(out["loss"]))
        cols = {k: np.asarray(out[k]) for k in ("loss", "damping", "gain_ratio", "accepted", "trials", "cg_iters")}
        with open(self.dir / ITERATIONS_FILE, "a") as fh:
            for i in range(n):
                fh.write(json.dumps({"step": start + i + 1, "loss": _finite_or_none(cols["loss"][i]),
                                     "damping": _finite_or_none(cols["damping"][i]),
                                     "gain_ratio": _finite_or_none(cols["gain_ratio"][i]),
                                     "accepted": bool(cols["accepted"][i]), "trials": int(cols["trials"][i]),
                                     "cg_iters": int(cols["cg_iters"][i]),
                                     "wall_s": round(wall - chunk_s * (n - 1 - i) / n, 3)}) + "\n")

    def _saved_step(self) -> int:
        try:
            return int(ckpt.read_meta(self.dir / CHECKPOINT_FILE)["step"])
        except ckpt.CheckpointError:
            return 0

    def _previous_wall(self) -> float:
        """wall_s of the last metrics line (resumed runs keep counting)."""
        path = self.dir / METRICS_FILE
        if not path.exists():
            return 0.0
        lines = path.read_text().strip().splitlines()
        return float(json.loads(lines[-1])["wall_s"]) if lines else 0.0

    def truncate_metrics(self, step: int) -> None:
        """Drop metrics (and per-iteration) lines after `step` (written after the checkpoint a resumed run starts from)."""
        for path in (self.dir / METRICS_FILE, self.dir / ITERATIONS_FILE):
            if path.exists():
                keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
                path.write_text("".join(line + "\n" for line in keep))

    def thetas(self, state: RunState) -> list:
        return state.done + [state.carry["theta"]]


__all__ = ["ITERATIONS_FILE", "Run", "RunState", "STOP_FILE", "dataset_sha256", "load_problem"]
