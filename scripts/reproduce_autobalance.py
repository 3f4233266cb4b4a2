"""Reproduce AutoBalance Table 1: three PDE benchmarks x balancing methods, MSE and L-inf vs the paper.

Usage:
    python scripts/reproduce_autobalance.py [--problems reaction_diffusion,helmholtz,poisson_inverse]
        [--methods autobalance-adamw,auto-soap,ew,...] [--seeds 0,1,2] [--method-seeds METHOD=0,1,2 ...]
        [--steps 30000] [--out runs/autobalance] [--results DIR] [--note TEXT] [--jobs 2] [--table-only]

Every run is ``pinns.train(problem, folder, preset="paper", optimizer=..., balance=..., seed=...)``:
the `paper` preset of each problem holds the paper's network, points, loss weights and learning-rate
schedule (AutoBalance appendix A.4; docs/design.md section 9). With ``--steps`` below the paper's 30 000,
the schedule is the paper's compressed in time: warm-up, decay interval, staircase interval and the
grad-norm / NTK refresh interval are all scaled by steps / 30 000.

Methods (``--methods``): AutoBalance-AdamW and Auto-SOAP (one optimizer state per loss term), and the
AdamW baselines EW (the fixed loss weights), grad-norm and NTK weights (refreshed like the paper's
every-1000-steps rule), DWA, PCGrad, IMTL-G, ConFIG and MGDA (`pinns.optim.RULES`).

Run folders go to ``OUT/PROBLEM/METHOD/steps{N}_seed{S}``. A folder holding ``result.json`` is
finished and reused; one holding only a checkpoint (an interrupted run) is resumed. ``--results``
(default: OUT) receives ``results.json`` (every run: MSE, L-inf, wall time, steps/s, MSE history),
``table.md`` (best seed per problem and method beside the paper's numbers) and one
``mse_history_PROBLEM.png`` per problem (test-grid MSE vs step, best seed of each method).
``--table-only`` trains nothing: it tabulates the finished runs under OUT and names the missing ones
in the table's header (a table assembled from several sessions' runs).

For one CPU thread: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import shlex
import statistics
import sys
import time

PROBLEMS = ("reaction_diffusion", "helmholtz", "poisson_inverse")
PAPER_STEPS = 30_000
PAPER_SEEDS = 3

METHODS = {  # key -> (label, optimizer, balance)
    "autobalance-adamw": ("AutoBalance-AdamW", "adamw", "autobalance"),
    "auto-soap": ("Auto-SOAP", "soap", "autobalance"),
    "ew": ("EW", "adamw", "none"),
    "gradnorm": ("grad-norm", "adamw", "gradnorm"),
    "ntk": ("NTK", "adamw", "ntk"),
    "dwa": ("DWA", "adamw", "dwa"),
    "pcgrad": ("PCGrad", "adamw", "pcgrad"),
    "imtlg": ("IMTL-G", "adamw", "imtlg"),
    "config": ("ConFIG", "adamw", "config"),
    "mgda": ("MGDA", "adamw", "mgda"),
}

PAPER = {
    # AutoBalance paper ("AutoBalance: an automatic balancing framework for training physics-informed
    # neural networks", papers/autobalance.txt), Table 1, AdamW column: (MSE, L-inf), best of 3 seeds,
    # 30 000 steps. For poisson_inverse the errors are those of the recovered coefficient a(x, y).
    # The paper has no Auto-SOAP or grad-norm row.
    "reaction_diffusion": {"ew": (9.16e-7, 1.15e-2), "ntk": (6.31e-7, 2.52e-3), "dwa": (3.03e-7, 5.51e-3),
                           "pcgrad": (9.56e-6, 1.65e-2), "imtlg": (2.32e-5, 2.64e-2), "config": (1.03e-6, 5.52e-3),
                           "mgda": (1.09e-5, 9.56e-3), "autobalance-adamw": (2.61e-7, 5.05e-3)},
    "helmholtz": {"ew": (29.35, 11.52), "ntk": (6.94e-1, 2.75), "dwa": (12.74, 12.28), "pcgrad": (5.05e-3, 5.20e-1),
                  "imtlg": (5.45e-3, 4.84e-1), "config": (2.23e-3, 2.68e-1), "mgda": (8.17e-3, 4.17e-1),
                  "autobalance-adamw": (2.04e-3, 3.84e-1)},
    "poisson_inverse": {"ew": (2.37e-3, 1.07e-1), "ntk": (2.71e-5, 1.29e-2), "dwa": (2.45e-5, 1.27e-2),
                        "pcgrad": (4.73e-5, 1.64e-2), "imtlg": (7.34e-5, 2.27e-2), "config": (8.96e-6, 8.40e-3),
                        "mgda": (5.74e-5, 1.82e-2), "autobalance-adamw": (6.19e-6, 6.09e-3)},
}

RESULT_FILE = "result.json"


# ----------------------------------------------------------------------------- runs


def schedule_overrides(problem: str, steps: int) -> dict:
    """TrainConfig overrides for `steps` steps: the paper's schedule scaled by steps / 30 000.

    Scaled: warmup_steps, decay_steps, decay_every (the staircase) and gradnorm_every (grad-norm and
    NTK refresh). About 60 logged points per run; alignment logging off (not needed here).
    """
    from pinns.config import compressed_schedule
    from pinns.problems import get_problem

    log_every = max(1, steps // 60)
    return {**compressed_schedule(get_problem(problem), steps), "log_every": log_every,
            "ckpt_every": max(log_every, steps // 10), "log_alignment": False}


def run_one(problem: str, method: str, seed: int, steps: int, folder: pathlib.Path) -> dict:
    """Train one (problem, method, seed) into `folder`, or reuse its finished result; returns the row.

    Row: problem, method, seed, steps, field, mse, linf, rel_l2 (of the metric field over the full
    300 x 300 reference grid), wall_s (training loop incl. compilation, from metrics.jsonl),
    steps_per_s (median of the logged chunks, compilation excluded), history [[step, mse], ...]
    (MSE on the logged evaluation subset) and ``error`` instead of the numbers for a diverged run.
    """
    from pinns.eval import median_steps_per_s, read_metrics
    from pinns import train
    from pinns.config import TrainingError

    done = folder / RESULT_FILE
    if done.is_file():
        return {**json.loads(done.read_text()), "reused": True}
    _, optimizer, balance = METHODS[method]
    row = {"problem": problem, "method": method, "seed": seed, "steps": steps}
    try:
        # a fresh folder is trained, an interrupted run continued bit for bit, other settings refused
        result = train(problem, folder, preset="paper", optimizer=optimizer, balance=balance, seed=seed,
                       progress=False, resume="auto", **schedule_overrides(problem, steps))
    except TrainingError as exc:  # diverged: a result too (the table says so)
        row["error"] = str(exc)
    else:
        field = next(iter(result["mse"]))  # the problem's metric field first (u, or a for the inverse problem)
        lines = read_metrics(folder)
        row.update(field=field, mse=result["mse"][field], linf=result["linf"][field],
                   rel_l2=result["rel_l2"][field], wall_s=lines[-1]["wall_s"],
                   steps_per_s=round(median_steps_per_s(lines), 2),
                   history=[[m["step"], m["mse"][field]] for m in lines if "mse" in m])
    folder.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(row) + "\n")
    return row


# ----------------------------------------------------------------------------- aggregation


def _finite(row: dict) -> bool:
    return "error" not in row and math.isfinite(row.get("mse", math.nan))


def aggregate(rows: list) -> dict:
    """problem -> method -> summary: best seed (lowest MSE) and its MSE / L-inf, every seed's values,
    total wall time and median steps/s; `best_seed` None when every seed diverged."""
    out = {}
    for row in rows:
        out.setdefault(row["problem"], {}).setdefault(row["method"], []).append(row)
    summary = {}
    for problem, methods in out.items():
        summary[problem] = {}
        for method, runs in methods.items():
            runs = sorted(runs, key=lambda r: r["seed"])
            ok = [r for r in runs if _finite(r)]
            best = min(ok, key=lambda r: r["mse"]) if ok else None
            summary[problem][method] = {
                "label": METHODS[method][0], "steps": runs[0]["steps"], "best_seed": best and best["seed"],
                "mse": best and best["mse"], "linf": best and best["linf"],
                "seeds": {str(r["seed"]): ({"error": r["error"]} if "error" in r else
                                           {k: r[k] for k in ("mse", "linf", "wall_s", "steps_per_s")})
                          for r in runs},
                "wall_s": round(sum(r.get("wall_s", 0.0) for r in runs), 1),
                "steps_per_s": statistics.median([r["steps_per_s"] for r in ok]) if ok else None,
                "paper": dict(zip(("mse", "linf"), PAPER.get(problem, {}).get(method, (None, None)))),
            }
    return summary


def _e(x) -> str:
    return "—" if x is None else f"{x:.2e}"


def table(summary: dict, header: str = "") -> str:
    """Markdown: one row per problem and method, ours (best seed) beside the paper's Table 1."""
    lines = [header, ""] if header else []
    lines += ["| problem | method | MSE | L∞ | paper MSE | paper L∞ | MSE per seed | steps/s | wall s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for problem, methods in summary.items():
        for method in sorted(methods, key=list(METHODS).index):
            s = methods[method]
            seeds = ", ".join(f"{seed}: {'diverged' if 'error' in v else _e(v['mse'])}" for seed, v in s["seeds"].items())
            rate = "—" if s["steps_per_s"] is None else f"{s['steps_per_s']:.1f}"
            lines.append(f"| {problem} | {s['label']} | {_e(s['mse'])} | {_e(s['linf'])} | {_e(s['paper']['mse'])} | "
                         f"{_e(s['paper']['linf'])} | {seeds} | {rate} | {s['wall_s']:.0f} |")
    return "\n".join(lines) + "\n"


def accurate_rows(folder, problems) -> str:
    """Markdown rows of `--preset accurate` runs (scripts/reproduce_accuracy.py result.json files) beside the
    paper's best AutoBalance number; "" without a folder or results."""
    if folder is None:
        return ""
    lines = []
    for problem in problems:
        path = pathlib.Path(folder) / problem / "result.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        its = ", ".join(f"{p['name']} {p['iterations']}" for p in r["phases"])
        net = r["net"]
        paper = PAPER[problem]["autobalance-adamw"]
        lines.append(f"| {problem} | accurate preset: {net['depth']} x {net['width']} tanh MLP, {r['dtype']}, {its} | "
                     f"{_e(r['mse'])} | {_e(r['linf'])} | {_e(paper[0])} | {_e(paper[1])} | seed {r['seed']} | "
                     f"{r['wall_s']:.0f} |")
    if not lines:
        return ""
    return ("\nBeyond the paper's recipe (`pinns train NAME --preset accurate`, scripts/reproduce_accuracy.py; one seed):\n\n"
            "| problem | recipe | MSE | L∞ | paper AutoBalance MSE | paper L∞ | seed | wall s |\n|---|---|---|---|---|---|---|---|\n"
            + "\n".join(lines) + "\n")


def plot_histories(rows: list, summary: dict, folder: pathlib.Path) -> list:
    """One PNG per problem: test MSE vs step of each method's best seed, log y. Returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for problem, methods in summary.items():
        fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
        for method in sorted(methods, key=list(METHODS).index):
            s = methods[method]
            row = next((r for r in rows if r["problem"] == problem and r["method"] == method
                        and r["seed"] == s["best_seed"]), None)
            if row is None or not row.get("history"):
                continue
            steps, mse = zip(*row["history"])
            ax.semilogy(steps, mse, label=f"{s['label']} (seed {row['seed']})",
                        lw=2 if method.startswith("auto") else 1.2)
        field = next((r["field"] for r in rows if r["problem"] == problem and "field" in r), "u")
        ax.set_xlabel("step")
        ax.set_ylabel(f"MSE of {field} (evaluation points)")
        ax.set_title(f"{problem}: MSE history, best seed per method")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        path = folder / f"mse_history_{problem}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- command line


def _ints(text: str) -> list:
    return [int(s) for s in text.split(",") if s.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring); bad names fail with one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2", help="seeds of every method (default 0,1,2)")
    parser.add_argument("--method-seeds", action="append", default=[], metavar="METHOD=S,S",
                        help="other seeds for one method, e.g. autobalance-adamw=0,1,2 (repeatable)")
    parser.add_argument("--steps", type=int, default=PAPER_STEPS)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/autobalance"), help="run folders")
    parser.add_argument("--results", type=pathlib.Path, help="results.json, table.md, PNGs (default: --out)")
    parser.add_argument("--note", default="", help="a line for the top of table.md (e.g. the machine's load)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel, one worker process each (one per core, single-threaded XLA)")
    parser.add_argument("--table-only", action="store_true",
                        help="train nothing: tabulate the finished runs under --out, name the missing ones")
    parser.add_argument("--accurate", type=pathlib.Path,
                        help="folder of scripts/reproduce_accuracy.py runs (PROBLEM/result.json): extra rows for "
                             "`--preset accurate` beside the paper's best")
    args = parser.parse_args(argv)
    args.problems = [p for p in args.problems.split(",") if p]
    args.methods = [m for m in args.methods.split(",") if m]
    for kind, names, known in (("problem", args.problems, PROBLEMS), ("method", args.methods, METHODS)):
        bad = [n for n in names if n not in known]
        if bad:
            parser.error(f"unknown {kind}(s): {', '.join(bad)} (known: {', '.join(known)})")
    if args.steps < 1:
        parser.error("--steps must be positive")
    seeds = {m: _ints(args.seeds) for m in args.methods}
    for item in args.method_seeds:
        method, _, values = item.partition("=")
        if method not in args.methods or not values:
            parser.error(f"--method-seeds {item!r}: expected METHOD=S,S with METHOD among --methods")
        seeds[method] = _ints(values)
    args.seed_lists = seeds
    args.results = args.results or args.out
    return args


def header(args, argv, rows: list) -> str:
    """What table.md says about how it was made: command, steps, seeds, machine, reduced or not."""
    import jax

    seeds = "; ".join(f"{METHODS[m][0]}: {','.join(map(str, s))}" for m, s in args.seed_lists.items())
    missing = getattr(args, "missing", [])
    reduced = args.steps < PAPER_STEPS or any(len(s) < PAPER_SEEDS for s in args.seed_lists.values())
    wall = sum(r.get("wall_s", 0.0) for r in rows)
    command = ("tabulated finished runs only (--table-only)" if args.table_only else
               f"{getattr(args, 'command_wall_s', 0.0) / 60:.1f} min with {args.jobs} worker(s) (finished runs reused count 0)")
    lines = [
        "# AutoBalance Table 1, reproduced" + (" (REDUCED run)" if reduced else "") + (" (INCOMPLETE)" if missing else ""),
        "",
        f"Command: `python scripts/reproduce_autobalance.py {shlex.join(argv)}`",
        "",
        f"- steps: {args.steps} (paper: {PAPER_STEPS}; schedule intervals scaled by {args.steps / PAPER_STEPS:.3g})",
        f"- seeds: {seeds} (paper: best of {PAPER_SEEDS})",
        f"- machine: {os.cpu_count()} cores ({platform.machine()}, {platform.system()}), jax {jax.__version__} on "
        f"{jax.devices()[0].platform}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}",
        f"- training wall time, all runs: {wall / 60:.1f} min; this command: {command}",
        "- MSE / L∞: best seed (lowest MSE) over the 300 x 300 test grid; poisson_inverse: the recovered a(x, y). "
        "Paper columns: AutoBalance Table 1 (AdamW). EW = the paper's fixed loss weights (λ_F, λ_B) with AdamW. "
        "steps/s: median over logged chunks (compilation excluded); wall s: sum over seeds incl. compilation.",
    ]
    if missing:
        lines.append(f"- not run ({len(missing)} of {len(missing) + len(rows)}): " + "; ".join(
            f"{p} {METHODS[m][0]} seed {s}" for p, m, s in missing))
    if args.note:
        lines.append(f"- note: {args.note}")
    return "\n".join(lines)


COST = {"helmholtz": 3.0, "reaction_diffusion": 1.5, "poisson_inverse": 1.0}
"""Relative cost of one run (measured steps/s on one core), to start the longest runs first with --jobs."""


def _timed_run(job: tuple) -> tuple:
    problem, method, seed, steps, folder = job
    start = time.perf_counter()
    return run_one(problem, method, seed, steps, folder), time.perf_counter() - start


def run_all(jobs: list, n_jobs: int):
    """Yield (job, row, seconds) for every job: in this process, or in `n_jobs` worker processes (spawned,
    one job each at a time, the costliest problems first so the workers finish together)."""
    if n_jobs <= 1:
        for job in jobs:
            yield (job, *_timed_run(job))
        return
    import concurrent.futures
    import multiprocessing
    import site

    order = sorted(jobs, key=lambda j: -COST.get(j[0], 1.0))
    here = str(pathlib.Path(__file__).resolve().parent)  # workers import this file by name (also when loaded by path)
    with concurrent.futures.ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=site.addsitedir, initargs=(here,)) as pool:
        futures = {pool.submit(_timed_run, job): job for job in order}
        for future in concurrent.futures.as_completed(futures):
            yield (futures[future], *future.result())


def main(argv=None) -> dict:
    """Run (or reuse) every requested run, then write results.json, table.md and the PNGs; returns the summary."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    jobs = [(p, m, s, args.steps, args.out / p / m / f"steps{args.steps}_seed{s}")
            for p in args.problems for m in args.methods for s in args.seed_lists[m]]
    rows, started = {}, time.perf_counter()
    if args.table_only:
        finished = {job[:3] for job in jobs if (job[4] / RESULT_FILE).is_file()}
        args.missing = [job[:3] for job in jobs if job[:3] not in finished]
        jobs = [job for job in jobs if job[:3] in finished]
        if not jobs:
            raise SystemExit(f"--table-only: no finished run under {args.out}")
    for i, (job, row, seconds) in enumerate(run_all(jobs, 1 if args.table_only else args.jobs), 1):
        problem, method, seed = job[:3]
        rows[job[:3]] = row
        what = (f"diverged: {row['error']}" if "error" in row else
                f"MSE {row['mse']:.3e}  L-inf {row['linf']:.3e}  ({row['wall_s']:.0f} s, {row['steps_per_s']:.1f} steps/s)")
        print(f"[{i}/{len(jobs)}] {problem} {METHODS[method][0]} seed {seed}: {what}"
              f"{'  (reused)' if row.get('reused') else f'  [{seconds:.0f} s]'}", flush=True)
    rows = [rows[job[:3]] for job in jobs]
    args.command_wall_s = time.perf_counter() - started
    summary = aggregate(rows)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "results.json").write_text(json.dumps(
        {"steps": args.steps, "seeds": args.seed_lists, "summary": summary,
         "runs": [{k: v for k, v in r.items() if k != "reused"} for r in rows]}, indent=1) + "\n")
    text = table(summary, header(args, argv, rows)) + accurate_rows(args.accurate, args.problems)
    (args.results / "table.md").write_text(text)
    plot_histories(rows, summary, args.results)
    print(text, flush=True)
    return summary


if __name__ == "__main__":
    main()
