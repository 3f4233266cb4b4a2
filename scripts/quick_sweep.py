"""Train every PINN problem under ``--preset quick`` and tabulate the errors and the speed.

Usage:
    python scripts/quick_sweep.py [--data datasets] [--out runs/quick_sweep] [--results results/quick_sweep]
                                  [--problems burgers,kdv] [--seed 0]

For each problem this runs ``pinns.train(name, OUT/name, preset="quick")`` (exact problems
need no dataset; the others read ``DATA/NAME.h5``, made by ``refsolvers generate NAME --out DATA``;
a missing one is reported, not generated: some take minutes). A run folder that already holds
``sweep_row.json`` is reused, so an interrupted sweep continues where it stopped; a folder holding a
quick-preset run of the same seed (say a link to ``runs/soap_table/burgers_adam``) is evaluated
when finished and continued when interrupted, instead of trained again.

Columns: the final error against the reference (relative L2 of the paper's metric fields; MSE and
L-inf for the AutoBalance problems of docs/design.md section 9), the steps trained (steps per window x
windows), the training speed (median of the logged steps/s, compilation excluded) and the training
wall time (last ``wall_s`` of metrics.jsonl). Writes ``table.md`` and ``results.json`` into --results.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

ROW_FILE = "sweep_row.json"  # the row of a finished run, kept in its folder
AUTOBALANCE_PROBLEMS = ("reaction_diffusion", "helmholtz", "poisson_inverse")


def speed(metrics_path: pathlib.Path) -> tuple:
    """(median steps/s over the logged lines after the first, wall s of the last line) of a run."""
    from pinns.eval import median_steps_per_s, read_metrics

    lines = read_metrics(metrics_path.parent)
    return median_steps_per_s(lines), (lines[-1].get("wall_s") if lines else None)


def run_one(name: str, data: pathlib.Path, out: pathlib.Path, seed: int, steps: int | None = None) -> dict:
    """Train `name` under the quick preset into `out` (or reuse a finished run); returns its row.

    `steps` (steps per window) shortens the preset's run; the preset's schedule is kept as it is.
    """
    from pinns.problems import EXACT
    from pinns import train

    done = out / ROW_FILE
    if done.is_file():
        return json.loads(done.read_text())
    row = {"problem": name}
    if name not in EXACT and not (data / f"{name}.h5").is_file():
        row["error"] = f"no dataset: refsolvers generate {name} --out {data}"
        return row
    start = time.perf_counter()
    resume = (out / "checkpoint.npz").exists()
    if resume:  # a run there (e.g. a link to another script's) must be a quick-preset run of this seed
        from pinns.training import check_settings

        check_settings(out, preset="quick", seed=seed, steps=steps)
    try:  # a finished run is evaluated, an interrupted one continued, a fresh folder trained
        result = train(name, out, data=None if name in EXACT else data, preset="quick", progress=False,
                       seed=seed, steps=steps, resume=resume)
    except Exception as exc:  # one failing problem must not stop the sweep; the table says why
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return row
    config = json.loads((out / "config.json").read_text())
    rate, wall = speed(out / "metrics.jsonl")
    row.update(result=result, steps=config["steps"] * config["windows"], windows=config["windows"], shortened=bool(steps),
               batch=config["batch"], net=config["net"], steps_per_s=rate,
               wall_s=round(wall or time.perf_counter() - start, 1))  # training time, from metrics.jsonl
    done.write_text(json.dumps(row, indent=1) + "\n")
    return row


def _error_cell(row: dict) -> str:
    result = row["result"]
    if row["problem"] in AUTOBALANCE_PROBLEMS:
        return ", ".join(f"MSE {result['mse'][f]:.2e} / L-inf {result['linf'][f]:.2e} ({f})" for f in result["mse"])
    return ", ".join(f"{f} {v:.2e}" for f, v in result["rel_l2"].items())


def table(rows: list, header: str) -> str:
    """The Markdown table of the sweep."""
    lines = [header, "", "| problem | error vs reference | steps (windows) | batch | steps/s | wall s |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['problem']} | not run: {row['error']} | | | | |")
            continue
        rate = f"{row['steps_per_s']:.1f}" if row["steps_per_s"] else "n/a"
        shortened = ", shortened" if row.get("shortened") else ""
        lines.append(f"| {row['problem']} | {_error_cell(row)} | {row['steps']} ({row['windows']}{shortened}) | "
                     f"{row['batch']} | {rate} | {row['wall_s']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    from pinns.problems import PROBLEMS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="datasets", type=pathlib.Path)
    parser.add_argument("--out", default="runs/quick_sweep", type=pathlib.Path)
    parser.add_argument("--results", default="results/quick_sweep", type=pathlib.Path)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="steps per window instead of the preset's (a shortened sweep)")
    args = parser.parse_args(argv)
    names = [n for n in args.problems.split(",") if n]
    unknown = sorted(set(names) - set(PROBLEMS))
    if unknown:
        parser.error(f"unknown problems: {', '.join(unknown)} (known: {', '.join(PROBLEMS)})")
    failed = {}
    for name in names:
        row = run_one(name, args.data, args.out / name, args.seed, args.steps)
        if "error" in row:
            failed[name] = row
        print(json.dumps({k: row.get(k) for k in ("problem", "error", "result", "steps_per_s", "wall_s")}), flush=True)
    rows = []  # every finished run in --out (earlier invocations too), in registry order
    for name in PROBLEMS:
        done = args.out / name / ROW_FILE
        if done.is_file():
            rows.append(json.loads(done.read_text()))
        elif name in failed:
            rows.append(failed[name])
    args.results.mkdir(parents=True, exist_ok=True)
    header = (f"Quick-preset sweep (`python scripts/quick_sweep.py`; rows marked shortened ran `--steps N`), "
              f"seed {args.seed}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at the end; errors against the refsolvers datasets in "
              f"`{args.data}` (exact solutions for wave and the AutoBalance problems).")
    (args.results / "table.md").write_text(table(rows, header))
    (args.results / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows, header))


if __name__ == "__main__":
    main()
