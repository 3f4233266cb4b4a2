"""Errors against a reference, and the metrics file of a run (``metrics.jsonl``).

Relative L2 error = ||pred - ref||_2 / ||ref||_2 over all points, per field (the paper's metric);
`errors` gives it with the mean square and the maximum error. `read_metrics` and
`median_steps_per_s` read what the run loop wrote.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from .config import METRICS_FILE
from .problems import Problem


def errors(pred: dict, ref: dict, names) -> dict:
    """{"rel_l2": {...}, "mse": {...}, "linf": {...}} per field over all points."""
    out = {"rel_l2": {}, "mse": {}, "linf": {}}
    for name in names:
        p, r = np.asarray(pred[name]).ravel(), np.asarray(ref[name]).ravel()
        diff = p - r
        out["rel_l2"][name] = float(np.linalg.norm(diff) / max(np.linalg.norm(r), 1e-300))
        out["mse"][name] = float(np.mean(diff**2))
        out["linf"][name] = float(np.max(np.abs(diff)))
    return out


def compared_fields(problem: Problem) -> list:
    """Reference fields the network predicts (outputs or derived), metric fields first."""
    have = set(problem.fields) | set(problem.derived)
    names = [f for f in problem.metric_fields if f in have and f in problem.reference.fields]
    return names + [f for f in problem.reference.fields if f in have and f not in names]


def evaluation_points(problem: Problem, max_points: int, t_max: float | None = None):
    """(points, reference fields) on the reference grid, subsampled to at most `max_points`, t <= t_max."""
    ref = problem.reference
    pts = ref.points()
    names = compared_fields(problem)
    vals = {k: np.asarray(ref.fields[k]).ravel() for k in names}
    keep = np.ones(len(pts), bool)
    if t_max is not None and "t" in problem.axes:
        keep &= pts[:, problem.axes.index("t")] <= t_max + 1e-12
    idx = np.nonzero(keep)[0]
    if max_points and len(idx) > max_points:
        idx = idx[np.linspace(0, len(idx) - 1, max_points).astype(int)]
    return pts[idx], {k: v[idx] for k, v in vals.items()}


def jsonable(x):
    """`x` with numpy / JAX scalars and arrays turned into Python numbers and lists (for `json.dumps`)."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.generic, np.ndarray)) or hasattr(x, "dtype"):
        x = np.asarray(x)
        return x.item() if x.ndim == 0 else x.tolist()
    return x


def append_record(run_dir, record: dict) -> None:
    """Append one JSON line to ``RUN_DIR/metrics.jsonl``."""
    with open(pathlib.Path(run_dir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(jsonable(record)) + "\n")


def read_metrics(run_dir) -> list:
    """The records of ``RUN_DIR/metrics.jsonl`` (dicts, in step order)."""
    path = pathlib.Path(run_dir) / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def median_steps_per_s(metrics: list) -> float | None:
    """Median training speed (steps/s) of the logged step chunks; the first chunk (compilation) is left
    out unless it is the only one. None when nothing was logged."""
    rates = [m["steps_per_s"] for m in metrics if m.get("steps_per_s")]
    rates = rates[1:] or rates
    return float(np.median(rates)) if rates else None


__all__ = ["append_record", "compared_fields", "errors", "evaluation_points", "jsonable", "median_steps_per_s",
           "read_metrics"]
