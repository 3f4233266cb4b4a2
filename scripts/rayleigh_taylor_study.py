"""Convergence study for the Rayleigh-Taylor reference (numbers in its registry `convergence` and module docstring).

    python scripts/rayleigh_taylor_study.py run N N_CHEB TAG [--dt 1e-3] [--cfl 0.3] [--symmetric]
                                                          [--schedule-of TAG --schedule-factor F] [--out DIR]
    python scripts/rayleigh_taylor_study.py compare TAG_A TAG_B [--out DIR]
    python scripts/rayleigh_taylor_study.py figure --out DIR --png FILE  PAIRS...   # PAIRS: label=TAG_A:TAG_B

`run` marches the default benchmark (Pr = 0.71, Ra = 1e6, t in [0, 10], 40 x 200 x 100 output grid) at N x N_CHEB
and saves the output fields u, v, T (nt, 3, ny, nx), the steps per chunk and the timing. `--schedule-of` reuses
another run's steps, scaled by F (F = 2 halves every step, F = 2/3 makes them 1.5 times longer), for time
convergence at fixed grids. `compare` prints the relative L2 difference of T (and u, v) over the whole output
grid and per output time. `figure` draws the differences per output time for several pairs (log scale).
"""

import argparse
import json
import pathlib
import time

import numpy as np

from refsolvers.pde import rayleigh_taylor as rt


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    c = rt.BENCHMARK.coords()
    schedule = None
    if args.schedule_of:
        base = json.loads((out / f"{args.schedule_of}.json").read_text())["schedule"]
        schedule = [round(s * args.schedule_factor) for s in base]
        if any(abs(s * args.schedule_factor - round(s * args.schedule_factor)) > 1e-9 for s in base):
            raise SystemExit("schedule factor does not give whole numbers of steps")
    cpu, wall = time.process_time(), time.perf_counter()
    values, solver, used = rt.march(dict(rt.PARAMS), args.n, args.n_cheb, c["t"], c["y"], c["x"], dt=args.dt,
                                    cfl=args.cfl, schedule=schedule, symmetric=args.symmetric, desc=args.tag)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    np.save(out / f"{args.tag}.npy", values)
    info = {"tag": args.tag, "n": args.n, "n_cheb": args.n_cheb, "symmetric": args.symmetric, "steps": solver.steps,
            "dt_range": solver.h_range, "max_cfl": solver.max_cfl, "schedule": used, "cpu_s": round(cpu, 1),
            "wall_s": round(wall, 1), "cpu_ms_per_step": round(cpu / solver.steps * 1e3, 2)}
    (out / f"{args.tag}.json").write_text(json.dumps(info))
    print(json.dumps({k: v for k, v in info.items() if k != "schedule"}))


def differences(out, tag_a, tag_b):
    a, b = np.load(out / f"{tag_a}.npy"), np.load(out / f"{tag_b}.npy")
    total = {f: rel(a[:, i], b[:, i]) for i, f in enumerate(rt.FIELDS)}
    per_time = [rel(a[i, 2], b[i, 2]) for i in range(1, a.shape[0])]
    return total, per_time


def compare(args):
    total, per_time = differences(pathlib.Path(args.out), args.tag_a, args.tag_b)
    print(json.dumps({"a": args.tag_a, "b": args.tag_b, "rel_l2": total, "T_max_over_t": max(per_time),
                      "T_per_time": [float(f"{e:.3g}") for e in per_time]}))


def figure(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(args.out)
    t = rt.BENCHMARK.coords()["t"][1:]
    fig, ax = plt.subplots(figsize=(6, 4))
    for pair in args.pairs:
        label, tags = pair.rsplit("=", 1)
        total, per_time = differences(out, *tags.split(":"))
        ax.semilogy(t, per_time, marker=".", label=f"{label} (all t: {total['T']:.1e})")
    ax.set_xlabel("t")
    ax.set_ylabel("relative L2 difference of T at time t")
    ax.set_title("Rayleigh-Taylor self-convergence (Pr = 0.71, Ra = 1e6)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(args.png)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("n", type=int)
    p.add_argument("n_cheb", type=int)
    p.add_argument("tag")
    p.add_argument("--dt", type=float, default=1e-3)
    p.add_argument("--cfl", type=float, default=0.3)
    p.add_argument("--symmetric", action="store_true")
    p.add_argument("--schedule-of", default=None)
    p.add_argument("--schedule-factor", type=float, default=1.0)
    p.add_argument("--out", default="runs/rt_study")
    p = sub.add_parser("compare")
    p.add_argument("tag_a")
    p.add_argument("tag_b")
    p.add_argument("--out", default="runs/rt_study")
    p = sub.add_parser("figure")
    p.add_argument("pairs", nargs="+")
    p.add_argument("--out", default="runs/rt_study")
    p.add_argument("--png", default="runs/rt_study/convergence.png")
    args = parser.parse_args()
    {"run": run, "compare": compare, "figure": figure}[args.cmd](args)


if __name__ == "__main__":
    main()
