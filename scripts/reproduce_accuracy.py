"""High-accuracy PINNs on a CPU: train ``--preset accurate`` on each problem, then table + curves.

    python scripts/reproduce_accuracy.py burgers allen_cahn wave kdv reaction_diffusion --data datasets \
        --budget 1800 --out results/accuracy_cpu

Each problem trains in OUT/NAME/ (a run folder of `pinns.train`: config.json, metrics.jsonl,
checkpoint.npz). ``resume="auto"``: a finished run is only evaluated again, an unfinished one (stopped
by ``--budget`` seconds) continues where it stopped. OUT/NAME/result.json holds the evaluation over
the whole reference output grid (`pinns.eval`) with the parameter count, iterations per phase and wall
time; the script then writes OUT/table.md, OUT/results.json and OUT/curves.png (error and loss against
the iteration). ``--set KEY=VALUE`` overrides a TrainConfig field (e.g. ``--set optimizer=adam:5000,ssbfgs:20000``).
"""

import argparse
import dataclasses
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

# published numbers to compare with (relative L2 unless stated)
PUBLISHED = {
    "burgers": "SOAP paper (PirateNet, GPU) 4.03e-5; Urban et al. 2024 ~1e-7 (4x20); vRBA 8.25e-9",
    "allen_cahn": "SOAP paper 3.48e-6; vRBA 1.88e-6",
    "kdv": "SOAP paper 3.40e-4",
    "wave": "SOAP paper 8.05e-6",
    "reaction_diffusion": "AutoBalance paper MSE 2.61e-7",
    "helmholtz": "AutoBalance paper MSE 2.04e-3",
    "poisson_inverse": "AutoBalance paper MSE (a) 6.19e-6",
}

# the targets of this project's issue "High-accuracy PINNs on a CPU" (rel L2 unless stated)
TARGETS = {"burgers": ("rel_l2", 1e-6), "allen_cahn": ("rel_l2", 3.5e-6), "wave": ("rel_l2", 8e-6),
           "kdv": ("rel_l2", 3.4e-4), "reaction_diffusion": ("mse", 2.6e-7), "helmholtz": ("mse", 2.04e-3),
           "poisson_inverse": ("mse", 6.19e-6)}


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--data", default="datasets")
    ap.add_argument("--out", default="results/accuracy_cpu")
    ap.add_argument("--budget", type=float, default=3600.0, help="wall seconds per problem and call")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="TrainConfig override")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--table-only", action="store_true", help="only gather the runs' result.json into the table")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    if not args.table_only:
        from pinns import train
        from pinns.problems import EXACT

        overrides = dict(kv.split("=", 1) for kv in args.set)
        overrides = {k: _value(v) for k, v in overrides.items()}
        for name in args.problems:
            run = out / name
            result = train(name, run, data=None if name in EXACT else args.data, preset="accurate", resume="auto",
                           budget_s=args.budget, progress=not args.no_progress, **overrides)
            (run / "result.json").write_text(json.dumps(summarise(name, run, result), indent=1) + "\n")
    write_table(out)


def summarise(name: str, run: pathlib.Path, result: dict) -> dict:
    """One table row: the evaluation of the run plus its size, iterations per phase and wall time."""
    import jax

    from pinns.eval import open_run
    from pinns.nets import count_params
    from pinns.metrics import read_metrics

    r, state = open_run(run)
    cfg, recs = r.cfg, read_metrics(run)
    field = (r.problem.metric_fields or r.problem.fields)[0]
    done, phases = state.step, []
    for ph in r.trainer.phases:
        phases.append({"name": ph.name, "iterations": max(0, min(done, ph.end) - ph.start), "planned": ph.end - ph.start})
    return {"problem": name, "field": field, "rel_l2": result["rel_l2"][field], "linf": result["linf"][field],
            "mse": result["mse"][field], "params": count_params(state.carry["theta"]), "phases": phases,
            "step": done, "wall_s": recs[-1]["wall_s"] if recs else 0.0, "net": dataclasses.asdict(cfg.net),
            "batch": cfg.batch, "resample_every": cfg.resample_every, "sampling": cfg.sampling,
            "balance": cfg.balance, "dtype": cfg.dtype, "seed": cfg.seed, "devices": len(jax.devices()),
            "cores": os.cpu_count()}


def _curve(recs: list, key: str, field: str) -> list:
    return [m[key][field] if isinstance(m[key], dict) else m[key] for m in recs]


def write_table(out: pathlib.Path) -> None:
    """OUT/table.md, OUT/results.json and OUT/curves.png from every OUT/NAME/result.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [json.loads(p.read_text()) for p in sorted(out.glob("*/result.json"))]
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["| problem | field | rel L2 | L-inf | MSE | target | params | iterations per phase | wall s | cores | published |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        its = ", ".join(f"{p['name']} {p['iterations']}" for p in r["phases"])
        key, goal = TARGETS.get(r["problem"], (None, None))
        target = "" if key is None else \
            f"{'MSE' if key == 'mse' else 'rel L2'} <= {goal:.3g}: {'met' if r[key] <= goal else 'missed'}"
        lines.append(f"| {r['problem']} | {r['field']} | {r['rel_l2']:.2e} | {r['linf']:.2e} | {r['mse']:.2e} | {target} | "
                     f"{r['params']} | {its} | {r['wall_s']:.0f} | {r.get('cores', '')} | {PUBLISHED.get(r['problem'], '')} |")
    (out / "table.md").write_text(
        f"# High-accuracy PINNs on a {os.cpu_count()}-core CPU (`pinns train NAME --preset accurate`)\n\n"
        + "\n".join(lines) + "\n\nErrors over the whole reference output grid (`pinns eval`). See README.md "
        "here for the commands, the load and what limited each run.\n")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for r in results:
        recs = [json.loads(x) for x in (out / r["problem"] / "metrics.jsonl").read_text().splitlines() if x]
        steps = [m["step"] for m in recs]
        axes[0].semilogy(steps, _curve(recs, "rel_l2", r["field"]), label=r["problem"])
        axes[1].semilogy(steps, [m["loss"] for m in recs], label=r["problem"])
    axes[0].set(xlabel="iteration (Adam, then quasi-Newton)", ylabel="rel L2 over the reference grid")
    axes[1].set(xlabel="iteration", ylabel="training loss (batch)")
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(out / "curves.png", dpi=90)
    plt.close(fig)
    for r in results:  # one figure per problem: its error and loss against the iteration, phases marked
        recs = [json.loads(x) for x in (out / r["problem"] / "metrics.jsonl").read_text().splitlines() if x]
        fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
        steps = [m["step"] for m in recs]
        ax.semilogy(steps, _curve(recs, "rel_l2", r["field"]), label=f"rel L2 of {r['field']} (whole reference grid)")
        ax.semilogy(steps, [m["loss"] for m in recs], label="training loss (batch)", alpha=0.6)
        for ph in r["phases"][1:]:
            start = sum(p["planned"] for p in r["phases"][:r["phases"].index(ph)])
            ax.axvline(start, color="k", lw=0.8, ls="--")
            ax.text(start, ax.get_ylim()[1], f" {ph['name']}", va="top", fontsize=8)
        ax.set(xlabel="iteration", title=f"{r['problem']}: {r['rel_l2']:.2e} rel L2 after {r['step']} iterations")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.savefig(out / f"curve_{r['problem']}.png", dpi=90)
        plt.close(fig)


if __name__ == "__main__":
    main()
