"""Self-convergence study of the spectral benchmarks: (N, dt) against (2N, dt/2), relative L2.

Usage:
    python scripts/convergence_study.py NAME [NAME...] [--pairs N,DT N,DT ...]

With no --pairs, checks the registry defaults. The figure printed for the defaults is the one
recorded in the registry entry (`convergence`) and in `datasets/README.md`.
"""

from __future__ import annotations

import argparse
import time

from refsolvers import BENCHMARKS
from refsolvers._spectral import make_problem, march, relative_l2


def trajectory(name: str, n: int, dt: float):
    bench = BENCHMARKS[name]
    problem = make_problem(bench, n)
    coords = bench.coords()
    space = tuple(coords[k] for k in ("y", "x") if k in coords)
    start = time.perf_counter()
    values, *_ = march(problem, dt, coords["t"], space, progress=True, desc=f"{name} N={n} dt={dt:g}")
    return values, time.perf_counter() - start, problem.field_names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--pairs", nargs="*", default=None, help="N,DT pairs (default: the registry defaults)")
    args = parser.parse_args()
    print("| benchmark | N | dt | rel L2 vs (2N, dt/2) per field | run s | fine run s |")
    print("|---|---|---|---|---|---|")
    for name in args.names:
        bench = BENCHMARKS[name]
        pairs = [tuple(p.split(",")) for p in args.pairs] if args.pairs else [(bench.solver["n"], bench.solver["dt"])]
        for n, dt in pairs:
            n, dt = int(n), float(dt)
            coarse, t_coarse, fields = trajectory(name, n, dt)
            fine, t_fine, _ = trajectory(name, 2 * n, dt / 2)
            errs = ", ".join(f"{f}: {relative_l2(coarse[:, i], fine[:, i]):.2e}" for i, f in enumerate(fields))
            print(f"| {name} | {n} | {dt:g} | {errs} | {t_coarse:.1f} | {t_fine:.1f} |", flush=True)


if __name__ == "__main__":
    main()
