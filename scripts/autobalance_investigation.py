"""Controlled experiments with AutoBalance-AdamW on the three Table-1 problems: one change at a time.

Each experiment is the `paper` preset (AutoBalance appendix A.4) at the full 30 000-step schedule, seed
0, with ONE setting changed: `EXPERIMENTS` on reaction_diffusion, `HZ_EXPERIMENTS` (the same changes,
names prefixed ``hz_``) on helmholtz, `PI_EXPERIMENTS` on poisson_inverse (the recovered a: seeds, the
observation draw, the noise level). Runs go to ``OUT/NAME`` (finished ones are reused, interrupted ones
resumed). ``report`` writes ``RESULTS/investigation_rows.md`` (and ``_hz_rows.md``, ``_pi_rows.md``)
(change, MSE, L-inf over the 300 x 300 test grid, wall time, curve), ``RESULTS/curves/NAME.png`` (test
MSE vs iteration beside the baseline) and ``RESULTS/investigation*.json``.

    python scripts/autobalance_investigation.py run baseline resampled float64 ... --out runs/ab_inv
    python scripts/autobalance_investigation.py report --out runs/ab_inv --results results/autobalance_full

The logged MSE history is over the whole 300 x 300 test grid (``eval_points=0``), every 500 steps.
One CPU thread: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

PAPER_MSE, PAPER_LINF = 2.61e-7, 5.05e-3

EXPERIMENTS = {  # name -> (what changes, TrainConfig overrides)
    "baseline": ("none: paper preset (fixed points, Glorot init, float32, eps 1e-8 outside the root, wd 0.01)", {}),
    "resampled": ("collocation points redrawn every step", {"fixed_points": False}),
    "resampled_1000": ("collocation points redrawn every 1000 steps", {"fixed_points": False, "resample_every": 1000}),
    "float64": ("float64", {"dtype": "float64"}),
    "torch_init": ("PyTorch default nn.Linear init (U(+-1/sqrt(fan_in)) weights and biases)", {"net": {"init": "torch"}}),
    "eps_in_root": ("Adam eps inside the root, as printed in Algorithm 1: m/sqrt(v + 1e-8)", {"eps": 0.0, "eps_root": 1e-8}),
    "wd0": ("no weight decay (paper does not give it; PyTorch AdamW default 0.01)", {"weight_decay": 0.0}),
    "lr_x075_every50": ("schedule read as x0.75 at every 50-step trigger (floor 5e-5 reached at step 2450)",
                        {"decay_steps": 50}),
    "depth2": ("'3-layer network' read as 2 hidden layers of 50", {"net": {"depth": 2}}),
    "nb200": ("N_b = 200 boundary+initial points instead of 100", {"n_bc": 200}),
    "nb300": ("N_b = 100 per face read: 300 points on t=0, x=-pi, x=pi (about 100 each) instead of 100 in all",
              {"n_bc": 300}),
    "seed1": ("seed 1", {"seed": 1}),
    "seed2": ("seed 2", {"seed": 2}),
    # Algorithm 1's aggregation line did not survive in the paper's text: the mean of the per-term updates
    # is the sum with half the learning rate and twice the decay rate ((1 - lr wd) w - lr sum d / n, n = 2)
    "mean_updates": ("per-term updates averaged, not summed (lr, lr_init, floor halved, weight decay doubled)",
                     {"lr": 5e-3, "lr_init": 5e-5, "lr_floor": 2.5e-5, "weight_decay": 0.02}),
}

HZ_PAPER_MSE = 2.04e-3
HZ_EXPERIMENTS = {  # helmholtz: the reaction_diffusion changes that apply to it (its seeds 1, 2 are the table's runs)
    "hz_baseline": ("none: paper preset (fixed 2000 + 400 points, Glorot init, float32, eps 1e-8 outside the root, "
                    "wd 0.01, floor 1e-5)", {}),
    **{f"hz_{name}": EXPERIMENTS[name] for name in ("resampled", "resampled_1000", "float64", "torch_init",
                                                    "eps_in_root", "wd0", "depth2")},
    "hz_float64_seed1": ("float64, seed 1 (the float64 row's seed spread)", {"dtype": "float64", "seed": 1}),
    "hz_float64_seed2": ("float64, seed 2 (the float64 row's seed spread)", {"dtype": "float64", "seed": 2}),
    "hz_wd0_seed1": ("no weight decay, seed 1 (the wd0 row's seed spread)", {"weight_decay": 0.0, "seed": 1}),
    "hz_wd0_seed2": ("no weight decay, seed 2 (the wd0 row's seed spread)", {"weight_decay": 0.0, "seed": 2}),
    "hz_mean_updates": ("per-term updates averaged, not summed (lr, lr_init, floor halved, weight decay doubled)",
                        {"lr": 5e-3, "lr_init": 5e-5, "lr_floor": 5e-6, "weight_decay": 0.02}),
}

FORWARD = {**{name: ("reaction_diffusion", row) for name, row in EXPERIMENTS.items()},
           **{name: ("helmholtz", row) for name, row in HZ_EXPERIMENTS.items()}}
"""Every forward-problem row by name: (problem, (what changes, TrainConfig overrides))."""

PI_PAPER_MSE = 6.19e-6
PI_EXPERIMENTS = {  # poisson_inverse (recovered a): name -> (what changes, TrainConfig overrides, observation settings)
    "pi_baseline": ("none: paper preset, noise variance 0.01 (std 0.1) on the 60 u values, seed 0", {}, {}),
    "pi_seed1": ("seed 1", {"seed": 1}, {}),
    "pi_seed2": ("seed 2", {"seed": 2}, {}),
    "pi_data_seed1": ("another draw of the observation points and noise (data seed 1)", {}, {"seed": 1}),
    "pi_noise_std001": ("'variance 0.01' read as a standard deviation: noise std 0.01", {}, {"noise_variance": 1e-4}),
    "pi_noise_free": ("no noise on the u values", {}, {"noise_variance": 0.0}),
    "pi_float64": ("float64", {"dtype": "float64"}, {}),
    "pi_nf2000": ("2000 residual points instead of N_f = 100 (fixed)", {"batch": 2000}, {}),
}

LOG = {"log_every": 500, "ckpt_every": 5000, "eval_points": 0, "log_alignment": False}


def run_poisson_inverse(name: str, out: pathlib.Path) -> dict:
    """One `PI_EXPERIMENTS` row: the paper preset of poisson_inverse with its observations redrawn as the row says.

    The observation settings are not TrainConfig fields, so the run is built here (`pinns.run.Run` on the
    problem with replaced data) rather than through `pinns.train`; it is short (about 2 minutes).
    """
    import jax

    from pinns.config import make_config
    from pinns.eval import evaluate_run
    from pinns.problems import get_problem
    from pinns.problems.poisson_inverse import PARAMS, DATA_SEED, observations
    from pinns.run import Run

    what, overrides, obs = PI_EXPERIMENTS[name]
    obs = dict(obs)
    data_seed = obs.pop("seed", DATA_SEED)
    problem = get_problem("poisson_inverse")
    problem = problem.replace(data=observations({**PARAMS, **obs}, seed=data_seed))
    cfg = make_config(problem, "paper", optimizer="adamw", balance="autobalance", **{**LOG, **overrides})
    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").unlink(missing_ok=True)
    r = Run(folder, problem, cfg)
    state = r.train(r.fresh_state(), progress=False)
    (folder / "config.json").write_text(json.dumps({**cfg.to_dict(), "observations": {**PARAMS, **obs, "seed": data_seed}},
                                                   indent=1) + "\n")
    return evaluate_run(r, state)


def run(names, out: pathlib.Path) -> None:
    from pinns import train

    for name in names:
        folder = out / name
        done = folder / "result.json"
        if done.is_file():
            print(f"{name}: done", flush=True)
            continue
        load0, t0 = os.getloadavg()[0], time.time()
        if name in PI_EXPERIMENTS:
            what, overrides, _ = PI_EXPERIMENTS[name]
            result, field = run_poisson_inverse(name, out), "a"
        else:
            problem, (what, overrides) = FORWARD[name]
            result, field = train(problem, folder, preset="paper", optimizer="adamw",
                                  balance="autobalance", progress=False, resume="auto", **{**LOG, **overrides}), "u"
        row = {"name": name, "change": what, "overrides": overrides, "mse": result["mse"][field],
               "linf": result["linf"][field], "wall_s": round(time.time() - t0, 1),
               "load_start": round(load0, 2), "load_end": round(os.getloadavg()[0], 2)}
        done.write_text(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def report(out: pathlib.Path, results: pathlib.Path) -> None:
    """The tables (reaction_diffusion, helmholtz, poisson_inverse rows) and one MSE curve per experiment."""
    for names, field, paper, baseline, suffix in ((EXPERIMENTS, "u", PAPER_MSE, "baseline", ""),
                                                  (HZ_EXPERIMENTS, "u", HZ_PAPER_MSE, "hz_baseline", "_hz"),
                                                  (PI_EXPERIMENTS, "a", PI_PAPER_MSE, "pi_baseline", "_pi")):
        _report(out, results, names, field, paper, baseline, suffix)


def _report(out, results, names, field, paper, baseline, suffix) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pinns.metrics import read_metrics

    # rows whose run folders are gone (another machine, a cleaned runs/) are kept from the last report
    previous = results / f"investigation{suffix}.json"
    kept = {r["name"]: r for r in json.loads(previous.read_text())} if previous.is_file() else {}
    rows, hist = [], {}
    for name in names:
        done = out / name / "result.json"
        if not done.is_file():
            if name in kept:
                kept[name]["mse_at"] = {int(s): v for s, v in kept[name]["mse_at"].items()}
                rows.append(kept[name])
            continue
        row = json.loads(done.read_text())
        lines = read_metrics(out / name)
        hist[name] = [(m["step"], m["mse"][field]) for m in lines if "mse" in m]
        row["mse_at"] = {s: v for s, v in hist[name] if s in (1000, 5000, 10000, 20000, 30000)}
        row["steps_per_s"] = lines[-1].get("steps_per_s")
        row["best_logged"] = min(hist[name], key=lambda sv: sv[1])
        rows.append(row)
    if not hist:
        return
    (results / "curves").mkdir(parents=True, exist_ok=True)
    for name in hist:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        if name != baseline and baseline in hist:
            ax.semilogy(*zip(*hist[baseline]), label=baseline, color="0.6")
        ax.semilogy(*zip(*hist[name]), label=name)
        ax.axhline(paper, ls="--", color="k", lw=0.8, label=f"paper {paper:.3g}")
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"test MSE of {field} (300x300)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(results / "curves" / f"{name}.png", dpi=110)
        plt.close(fig)
    (results / f"investigation{suffix}.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| experiment | change (one at a time) | MSE | L-inf | MSE / paper | MSE at 5k / 10k / 20k | lowest logged MSE (step) "
             "| wall s (load) | curve |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        at = " / ".join(f"{r['mse_at'].get(s, float('nan')):.2e}" for s in (5000, 10000, 20000))
        lines.append(f"| {r['name']} | {r['change']} | {r['mse']:.3e} | {r['linf']:.3e} | {r['mse'] / paper:.1f}x | "
                     f"{at} | {r['best_logged'][1]:.2e} ({r['best_logged'][0]}) | {r['wall_s']:.0f} ({r['load_start']:.1f}-{r['load_end']:.1f}) | "
                     f"[png](curves/{r['name']}.png) |")
    (results / f"investigation{suffix}_rows.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("names", nargs="*", help=f"experiments (default: the reaction_diffusion ones): "
                        f"{', '.join([*FORWARD, *PI_EXPERIMENTS])}")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/ab_inv"))
    parser.add_argument("--results", type=pathlib.Path, default=pathlib.Path("results/autobalance_full"))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in FORWARD and n not in PI_EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s): {', '.join(unknown)}")
    if args.command == "run":
        run(args.names or list(EXPERIMENTS), args.out)
    else:
        report(args.out, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
