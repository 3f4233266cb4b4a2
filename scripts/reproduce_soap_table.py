"""Reproduce the SOAP-PINN paper's Table 1 (relative L2 error, Adam vs SOAP) with `pinns.train`.

    python scripts/reproduce_soap_table.py wave burgers allen_cahn kdv --optimizer adam,soap --preset quick
    python scripts/reproduce_soap_table.py wave burgers allen_cahn kdv ks gray_scott ginzburg_landau \\
        lid_driven_cavity kolmogorov rayleigh_taylor --optimizer adam,soap --preset paper    # GPU-sized

For each benchmark and optimizer it trains one run (the `pinns train` trainer, nothing else) into
``OUT/BENCHMARK_OPTIMIZER/`` and then writes, in ``OUT``:

* ``table.md``: our relative L2 error over the whole reference grid per run beside the paper's
  Table 1 numbers, the wall times and the SOAP/Adam wall-time ratio (paper Table 5: 1.1-3.9x);
* ``results.json``: the same numbers, machine-readable (plus per-run throughput and settings);
* ``curves_BENCHMARK.png``: test error (rel L2 on the logged evaluation points) vs step, loss vs step
  and the gradient alignment scores (intra-step and inter-step, SOAP-PINN eq. 3) vs step, both
  optimizers on the same axes (like the paper's Figs. 5-22).

Each run folder also keeps the trainer's own ``prediction.png`` (prediction | reference | error).
A run whose folder holds ``result.json`` is finished and skipped; one with a checkpoint but no
``result.json`` is resumed; so the script can be interrupted and started again with the same
arguments. Datasets missing from ``--data`` are generated with `refsolvers.generate` (paper
resolution), which the script announces on stdout.

Threads: the script does not touch them. On a shared CPU, export
``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" OPENBLAS_NUM_THREADS=1``
before running it and say so with ``--note``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shlex
import sys
import time

import numpy as np

from pinns.eval import median_steps_per_s, read_metrics

PAPER_SOURCE = "SOAP-PINN paper, Table 1"
PAPER_TABLE1 = {  # relative L2 error, (Adam, SOAP), PirateNet, paper recipe (docs/design.md section 7)
    "wave": (5.15e-5, 8.05e-6),
    "burgers": (8.20e-5, 4.03e-5),
    "allen_cahn": (2.24e-5, 3.48e-6),
    "kdv": (7.04e-4, 3.40e-4),
    "ks": (7.48e-2, 3.86e-2),
    "gray_scott": (3.61e-3, 1.18e-4),
    "ginzburg_landau": (1.49e-2, 4.78e-3),
    "lid_driven_cavity": (3.24e-1, 3.99e-2),
    "kolmogorov": (2.04e-1, 6.99e-2),
    "rayleigh_taylor": (7.32e-2, 5.22e-3),
}
PAPER_WALL_RATIO = (1.1, 3.9)  # SOAP wall time / Adam wall time, SOAP-PINN paper Table 5
PAPER_OPTIMIZERS = ("adam", "soap")
RESULT_FILE = "result.json"
COLORS = {"adam": "tab:blue", "soap": "tab:red", "adamw": "tab:green"}


# ----------------------------------------------------------------------------- arguments


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments; bad benchmark or optimizer names exit with one line (code 2)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("benchmarks", nargs="+", metavar="BENCHMARK", help=f"any of: {', '.join(PAPER_TABLE1)}")
    p.add_argument("--optimizer", default="adam,soap", help="comma-separated optimizers (default adam,soap)")
    p.add_argument("--preset", default="quick", choices=("quick", "paper"), help="training recipe (default quick)")
    p.add_argument("--data", default="datasets", help="dataset folder (missing NAME.h5 are generated)")
    p.add_argument("--out", default="runs/soap_table", help="output folder (runs, table, figures)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of every run")
    p.add_argument("--steps", type=int, help="steps per time window (default: the preset's)")
    p.add_argument("--log-every", type=int, default=100, dest="log_every",
                   help="steps between logged points of the curves (default 100)")
    p.add_argument("--note", default="", help="free text recorded in table.md (machine, load)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    args.optimizers = tuple(o.strip() for o in args.optimizer.split(",") if o.strip())
    from pinns.recipes import OPTIMIZERS

    bad = [b for b in args.benchmarks if b not in PAPER_TABLE1]
    if bad:
        p.error(f"not a Table 1 benchmark: {', '.join(bad)} (known: {', '.join(PAPER_TABLE1)})")
    bad = [o for o in args.optimizers if o not in OPTIMIZERS]
    if bad or not args.optimizers:
        p.error(f"unknown optimizer(s): {', '.join(bad) or '(none)'} (known: {', '.join(OPTIMIZERS)})")
    if args.steps is not None and args.steps < 1:
        p.error("--steps must be positive")
    return args


# ----------------------------------------------------------------------------- runs


def ensure_datasets(benchmarks, data_dir) -> list:
    """Generate ``data_dir/NAME.h5`` for the benchmarks that lack it; returns the generated names."""
    import refsolvers

    made = []
    for name in benchmarks:
        path = pathlib.Path(data_dir) / f"{name}.h5"
        if path.exists():
            continue
        print(f"data: {path} is missing; generating it with refsolvers.generate({name!r}) (paper resolution)",
              flush=True)
        start = time.perf_counter()
        refsolvers.generate(name, data_dir, progress=False, exist_ok=True)
        print(f"data: wrote {path} in {time.perf_counter() - start:.1f} s", flush=True)
        made.append(name)
    return made


def run_dir(out, benchmark: str, optimizer: str) -> pathlib.Path:
    """Folder of one run: ``OUT/BENCHMARK_OPTIMIZER``."""
    return pathlib.Path(out) / f"{benchmark}_{optimizer}"


def _check_settings(folder: pathlib.Path, preset: str, optimizer: str, seed: int, steps) -> None:
    """Refuse to mix a run folder of other settings into the table (one-line ValueError; `pinns.training.check_settings`)."""
    from pinns.training import check_settings

    check_settings(folder, preset=preset, optimizer=optimizer, seed=seed, steps=steps)


def train_or_skip(benchmark: str, optimizer: str, args) -> str:
    """Train one run (or resume it, or skip it when finished); returns "skipped", "resumed" or "trained"."""
    from pinns import train
    from pinns.config import CHECKPOINT_FILE

    folder = run_dir(args.out, benchmark, optimizer)
    if (folder / "config.json").exists():
        _check_settings(folder, args.preset, optimizer, args.seed, args.steps)
    if (folder / RESULT_FILE).exists():
        print(f"{benchmark} / {optimizer}: finished earlier in {folder}, skipped", flush=True)
        return "skipped"
    resume = (folder / CHECKPOINT_FILE).exists()
    print(f"{benchmark} / {optimizer}: {'resuming' if resume else 'training'} into {folder}", flush=True)
    start = time.perf_counter()
    result = train(benchmark, folder, data=args.data, preset=args.preset, progress=not args.no_progress,
                   optimizer=optimizer, seed=args.seed, steps=args.steps, log_every=args.log_every, resume="auto")
    result["call_wall_s"] = round(time.perf_counter() - start, 2)
    (folder / RESULT_FILE).write_text(json.dumps(result, indent=1) + "\n")
    field = next(iter(result["rel_l2"]))
    print(f"{benchmark} / {optimizer}: rel L2 ({field}) {result['rel_l2'][field]:.3e} after {result['step']} steps, "
          f"{result['call_wall_s']:.0f} s", flush=True)
    return "resumed" if resume else "trained"


# ----------------------------------------------------------------------------- summaries


def summarize_run(folder) -> dict:
    """One finished run as a flat record: final errors, metric field, steps, wall time, throughput, settings.

    ``call_wall_s`` is the time of the `train` call (a resumed run: its last call only); ``wall_s`` is the trainer's training wall time (last ``metrics.jsonl`` line, compilation included,
    accumulated over resumes); ``steps_per_s`` the median throughput of the logged step chunks
    (compilation and logging excluded).
    """
    folder = pathlib.Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    result = json.loads((folder / RESULT_FILE).read_text())
    metrics = read_metrics(folder)
    field = next(iter(result["rel_l2"]))
    net = cfg["net"]
    return {"benchmark": cfg["problem"], "optimizer": cfg["optimizer"], "field": field,
            "rel_l2": result["rel_l2"][field], "rel_l2_all": result["rel_l2"], "step": result["step"],
            "wall_s": metrics[-1]["wall_s"] if metrics else None, "call_wall_s": result.get("call_wall_s"),
            "steps_per_s": median_steps_per_s(metrics),
            "preset": cfg["preset"], "seed": cfg["seed"], "steps": cfg["steps"], "windows": cfg["windows"],
            "batch": cfg["batch"], "net": f"{net['arch']} {net['depth']}x{net['width']} {net['activation']}",
            "run_dir": str(folder)}


def compare(runs: list) -> dict:
    """Per benchmark: our error per optimizer, the paper's, and SOAP/Adam ratios (error, wall, step time)."""
    out = {}
    for r in runs:
        b = out.setdefault(r["benchmark"], {"field": r["field"], "ours": {}, "wall_s": {}, "steps_per_s": {},
                                            "paper": dict(zip(PAPER_OPTIMIZERS, PAPER_TABLE1[r["benchmark"]]))})
        b["ours"][r["optimizer"]] = r["rel_l2"]
        b["wall_s"][r["optimizer"]] = r["wall_s"]
        b["steps_per_s"][r["optimizer"]] = r["steps_per_s"]
    for b in out.values():
        have = all(o in b["ours"] for o in PAPER_OPTIMIZERS)
        b["soap_over_adam_error"] = b["ours"]["soap"] / b["ours"]["adam"] if have else None
        b["paper_soap_over_adam_error"] = b["paper"]["soap"] / b["paper"]["adam"]
        b["soap_over_adam_wall"] = (b["wall_s"]["soap"] / b["wall_s"]["adam"]
                                    if have and b["wall_s"]["soap"] and b["wall_s"]["adam"] else None)
        b["soap_over_adam_step_time"] = (b["steps_per_s"]["adam"] / b["steps_per_s"]["soap"]
                                         if have and b["steps_per_s"]["soap"] and b["steps_per_s"]["adam"] else None)
    return out


def _e(x) -> str:
    return "–" if x is None else f"{x:.2e}"


def _x(x) -> str:
    return "–" if x is None else f"{x:.2f}×"


def table_markdown(runs: list, meta: dict) -> str:
    """``table.md``: header (command, machine, wall time, settings) and the comparison table."""
    cmp = compare(runs)
    opts = list(dict.fromkeys(r["optimizer"] for r in runs))
    first = runs[0] if runs else {}
    lines = [f"# Adam vs SOAP, relative L2 error (reproduction of the {PAPER_SOURCE})", "",
             f"- command: `{meta.get('command', '')}`",
             f"- machine: {meta.get('machine', '')}" + (f"; {meta['note']}" if meta.get("note") else ""),
             f"- wall time: the {len(runs)} runs took {sum(r['call_wall_s'] or 0 for r in runs):.0f} s "
             f"(train(): compilation, training, evaluation, figure; {sum(r['wall_s'] or 0 for r in runs):.0f} s of "
             f"it in the training loops); this invocation of the script took {meta.get('wall_s', 0):.0f} s "
             f"(runs finished earlier are skipped)",
             f"- recipe: preset `{first.get('preset', '')}` ({first.get('net', '')}, batch {first.get('batch', '')}, "
             f"{first.get('steps', '')} steps per window, seed {first.get('seed', '')}); the paper's numbers come "
             "from its own recipe (PirateNet 3x256, batch 8192, 1e5-3e5 steps per window, A6000 GPU)",
             "- error: relative L2 over the whole reference grid (`pinns eval`), field in the second column; "
             "wall: training loop including compilation; step-time ratio: median time per step, compilation "
             f"and logging excluded. Paper Table 5: SOAP wall time {PAPER_WALL_RATIO[0]}–{PAPER_WALL_RATIO[1]}× Adam's.",
             ""]
    head = ["benchmark", "field", *[f"{o} (ours)" for o in opts], "Adam (paper)", "SOAP (paper)",
            "SOAP/Adam error (ours)", "SOAP/Adam error (paper)", *[f"{o} wall s" for o in opts],
            "SOAP/Adam wall", "SOAP/Adam step time"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, b in cmp.items():
        row = [name, b["field"], *[_e(b["ours"].get(o)) for o in opts], _e(b["paper"]["adam"]),
               _e(b["paper"]["soap"]), _x(b["soap_over_adam_error"]), _x(b["paper_soap_over_adam_error"]),
               *[("–" if b["wall_s"].get(o) is None else f"{b['wall_s'][o]:.0f}") for o in opts],
               _x(b["soap_over_adam_wall"]), _x(b["soap_over_adam_step_time"])]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Paper numbers: {PAPER_SOURCE} (Adam → SOAP); wall-time ratio: SOAP-PINN paper, Table 5.",
              "Curves per benchmark: `curves_BENCHMARK.png` (error, loss, gradient alignment vs step).", ""]
    return "\n".join(lines)


SMOOTH = 5  # logged points averaged in the alignment curves (each point is one step's score)


def smooth(values, n: int = SMOOTH) -> np.ndarray:
    """Centred running mean over `n` points (shorter at the ends); NaNs stay NaN."""
    values = np.asarray(values, float)
    n = min(n, len(values))
    if n < 2:
        return values
    kernel = np.ones(n - (n % 2 == 0))  # odd length: centred, and never longer than the data
    num = np.convolve(np.nan_to_num(values), kernel, mode="same")
    den = np.convolve(np.isfinite(values).astype(float), kernel, mode="same")
    return np.where(np.isfinite(values), num / np.maximum(den, 1), np.nan)


def plot_curves(benchmark: str, metrics: dict, path, preset: str = "") -> pathlib.Path:
    """``curves_BENCHMARK.png``: rel L2, loss and alignment scores vs step, one colour per optimizer.

    The alignment scores are single-step samples (faint) and their running mean over `SMOOTH` logs.

    Args:
        metrics: optimizer -> list of ``metrics.jsonl`` records.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 3.9), layout="constrained")
    ax_err, ax_loss, ax_al = fig.subplots(1, 3)
    paper = dict(zip(PAPER_OPTIMIZERS, PAPER_TABLE1.get(benchmark, (None, None))))
    field = None
    for opt, recs in metrics.items():
        color = COLORS.get(opt)
        step = np.array([r["step"] for r in recs])
        field = field or next(iter(recs[0]["rel_l2"]), None)
        if field:
            ax_err.semilogy(step, [r["rel_l2"][field] for r in recs], color=color, label=opt)
        ax_loss.semilogy(step, [r["loss"] for r in recs], color=color, label=opt)
        intra = np.array([np.nan if r.get("alignment_intra") is None else r["alignment_intra"] for r in recs])
        inter = np.array([r["alignment_inter"] for r in recs], float)
        for values, ls, what in ((intra, "-", "intra-step"), (inter, "--", "inter-step")):
            ax_al.plot(step, values, color=color, ls=ls, lw=0.6, alpha=0.3)  # one sample per logged step
            ax_al.plot(step, smooth(values), color=color, ls=ls, label=f"{opt} {what} (mean of {SMOOTH})")
        if paper.get(opt):
            ax_err.axhline(paper[opt], color=color, ls=":", lw=1, label=f"{opt}, paper Table 1")
    ax_err.set(xlabel="training step", ylabel=f"relative L2 error of {field}", title="test error")
    ax_loss.set(xlabel="training step", ylabel="weighted training loss", title="loss")
    ax_al.set(xlabel="training step", ylabel="alignment score A ∈ [−1, 1]", title="gradient alignment",
              ylim=(-1.05, 1.05))
    for ax in (ax_err, ax_loss, ax_al):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{benchmark}{f', preset {preset}' if preset else ''}: Adam vs SOAP")
    path = pathlib.Path(path)
    fig.savefig(path, dpi=100)
    return path


def write_outputs(out, runs: list, meta: dict) -> dict:
    """Write ``table.md``, ``results.json`` and ``curves_BENCHMARK.png`` for the summarized `runs`.

    Returns:
        {"table": path, "json": path, "figures": [paths]}.
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "table.md"
    table.write_text(table_markdown(runs, meta))
    doc = {"source": PAPER_SOURCE, "paper_table1": {k: dict(zip(PAPER_OPTIMIZERS, v)) for k, v in PAPER_TABLE1.items()},
           "paper_wall_ratio_table5": list(PAPER_WALL_RATIO), **meta, "runs": runs, "benchmarks": compare(runs)}
    results = out / "results.json"
    results.write_text(json.dumps(doc, indent=1) + "\n")
    figures = []
    for name in dict.fromkeys(r["benchmark"] for r in runs):
        mine = {r["optimizer"]: read_metrics(r["run_dir"]) for r in runs if r["benchmark"] == name}
        preset = next(r["preset"] for r in runs if r["benchmark"] == name)
        figures.append(str(plot_curves(name, mine, out / f"curves_{name}.png", preset)))
    return {"table": str(table), "json": str(results), "figures": figures}


def machine() -> str:
    """One line: CPU count, platform, JAX devices and the thread settings in force."""
    import jax

    dev = jax.devices()[0]
    kind = getattr(dev, "device_kind", dev.platform)
    threads = " ".join(f"{k}={os.environ[k]!r}" for k in ("XLA_FLAGS", "OPENBLAS_NUM_THREADS") if k in os.environ)
    return (f"{os.cpu_count()} CPU cores, {platform.machine()} {platform.system()}, JAX {jax.__version__} on "
            f"{jax.device_count()} × {kind}" + (f", {threads}" if threads else ""))


def main(argv=None) -> int:
    """Run the table (see the module docstring); returns the exit code."""
    args = parse_args(argv)
    import pinns.eval  # noqa: F401  (loaded once, before any run: later edits of the package do not mix in)

    start = time.perf_counter()
    ensure_datasets(args.benchmarks, args.data)
    for name in args.benchmarks:
        for opt in args.optimizers:
            try:
                train_or_skip(name, opt, args)
            except ValueError as exc:
                print(f"reproduce_soap_table: error: {exc}", file=sys.stderr)
                return 2
    runs = [summarize_run(run_dir(args.out, b, o)) for b in args.benchmarks for o in args.optimizers]
    words = sys.argv[1:] if argv is None else list(argv)
    meta = {"command": "python scripts/reproduce_soap_table.py " + " ".join(shlex.quote(a) for a in words),
            "machine": machine(),
            "note": args.note, "wall_s": round(time.perf_counter() - start, 1)}
    paths = write_outputs(args.out, runs, meta)
    print(pathlib.Path(paths["table"]).read_text())
    print(f"wrote {paths['table']}, {paths['json']}, {len(paths['figures'])} figure(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
