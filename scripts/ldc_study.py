"""Lid-driven cavity: Ghia et al. (1982) deviations, grid convergence and timings of the reference solver.

Usage (from the repository root):
    nice python scripts/ldc_study.py ghia --re 100 400 1000 3200 5000 --n 128 256
    nice python scripts/ldc_study.py order --re 1000 --n 256          # three grids n/4, n/2, n
    nice python scripts/ldc_study.py time --re 5000 --lid smooth --n 256

`ghia`: uniform lid; for each Re and grid n, solves the default grid sequence up to n and prints the largest deviation
from Ghia's tabulated centreline velocities (misprints skipped; Ghia's points are 129-grid nodes
k/128, evaluated there exactly) for the n solution and for the Richardson extrapolation
(4 f_n - f_{n/2}) / 3, plus the centreline extrema; rows for n/2 and n (Richardson from n/4, n/2 and n/2, n). `order`: extrema on n/4, n/2, n and the observed
order log2(d1/d2). `time`: wall and CPU time of the full default solve (as `refsolvers generate`).
`march`: the rejected baseline -- a projection method on the same MAC grid (AB2 convection, implicit
diffusion, exact DCT projection, dt = h/4) marched from rest until max|du/dt| < 1e-8; steps and CPU.
    nice python scripts/ldc_study.py march --re 1000 --n 64
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

from refsolvers.pde.lid_driven_cavity import BENCHMARK, CavityProblem, solve, solve_sequence

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
MISPRINTS = {("u", 3200, 0.4531), ("u", 10000, 0.5), ("v", 400, 0.9063), ("v", 1000, 0.5)}


def ghia(component: str, re: int):
    """(coordinates k/128, values, mask of usable points) of Ghia's table for `component` at `re`."""
    lines = [ln for ln in (DATA / f"ghia1982_{component}.csv").read_text().splitlines() if not ln.startswith("#")]
    header = lines[0].split(",")
    table = np.array([[float(x) for x in ln.split(",")] for ln in lines[1:]])
    coord, values = table[:, 0], table[:, header.index(f"Re{re}")]
    keep = np.array([(component, re, round(float(c), 4)) not in MISPRINTS for c in coord])
    return np.round(coord * 128) / 128, values, keep


def centrelines(sol, yu, xv):
    return sol(yu, [0.5])["u"][:, 0], sol([0.5], xv)["v"][0]


def deviations(sol_fine, sol_coarse, re):
    yu, gu, ku = ghia("u", re)
    xv, gv, kv = ghia("v", re)
    uf, vf = centrelines(sol_fine, yu, xv)
    uc, vc = centrelines(sol_coarse, yu, xv)
    ur, vr = (4 * uf - uc) / 3, (4 * vf - vc) / 3
    out = {}
    for name, u, v in (("n", uf, vf), ("richardson", ur, vr)):
        du, dv = np.abs(u - gu)[ku], np.abs(v - gv)[kv]
        out[name] = (du.max(), yu[ku][du.argmax()], dv.max(), xv[kv][dv.argmax()])
    return out


def extrema(sol, m=4001):
    s = np.linspace(0, 1, m)
    u, v = sol(s, [0.5])["u"][:, 0], sol([0.5], s)["v"][0]
    return u.min(), v.max(), v.min()


def march(re: float, n: int, lid: str, cfl: float = 0.25, tol: float = 1e-8, max_steps: int = 2_000_000):
    """Projection-method baseline on the solver's MAC operators; returns (steps, t, residual, CPU s)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    P = CavityProblem(n, re, lid)
    dt = cfl * P.h
    solve_u = spla.splu((sp.eye(P.n_u) / dt - P.nu * P.lap_u).tocsc()).solve
    solve_v = spla.splu((sp.eye(P.n_v) / dt - P.nu * P.lap_v).tocsc()).solve

    c0 = time.process_time()
    u, v = np.zeros(P.n_u), np.zeros(P.n_v)
    cu_old, cv_old = P.convection(u, v)
    for step in range(1, max_steps + 1):
        cu, cv = P.convection(u, v)
        a, b = (1.5, -0.5) if step > 1 else (1.0, 0.0)
        us = solve_u(u / dt - (a * cu + b * cu_old) + P.nu * P.lap_u_bc)
        vs = solve_v(v / dt - (a * cv + b * cv_old))
        un, vn = P.project(us, vs)  # exact DCT pressure projection onto discretely divergence-free fields
        res = max(np.abs(un - u).max(), np.abs(vn - v).max()) / dt
        u, v, cu_old, cv_old = un, vn, cu, cv
        if not np.isfinite(res) or res < tol:
            break
    return step, step * dt, res, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("ghia", "order", "time", "march"))
    ap.add_argument("--re", type=float, nargs="+", default=[100, 400, 1000, 3200, 5000])
    ap.add_argument("--n", type=int, nargs="+", default=[BENCHMARK.solver["n"]])
    ap.add_argument("--lid", default="uniform")
    ap.add_argument("--points", action="store_true", help="ghia: also print every tabulated point")
    args = ap.parse_args()
    if args.what == "ghia":
        print("| Re | n | max dev u (y) | max dev v (x) | Richardson u (y) | Richardson v (x) | u_min | v_max | v_min | CPU s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for re in args.re:
            for n in args.n:
                c0 = time.process_time()
                sols = solve_sequence({"re": re, "lid": "uniform"}, {**BENCHMARK.solver, "n": n}, progress=False)
                cpu = time.process_time() - c0
                for coarse, fine in list(zip(sols[:-1], sols[1:]))[-2:]:  # rows for n/2 and n
                    d = deviations(fine, coarse, int(re))
                    e = extrema(fine)
                    print(f"| {re:g} | {fine.n} | {d['n'][0]:.4f} ({d['n'][1]:.4f}) | {d['n'][2]:.4f} ({d['n'][3]:.4f}) "
                          f"| {d['richardson'][0]:.4f} ({d['richardson'][1]:.4f}) | {d['richardson'][2]:.4f} "
                          f"({d['richardson'][3]:.4f}) | {e[0]:.5f} | {e[1]:.5f} | {e[2]:.5f} | {cpu:.1f} |", flush=True)
                if args.points:
                    for comp, idx in (("u", 0), ("v", 1)):
                        c, g, k = ghia(comp, int(re))
                        prof = [centrelines(s_, *( (c, c) ))[idx] for s_ in sols[-2:]]
                        rich = (4 * prof[1] - prof[0]) / 3
                        for ci, gi, ki, a, r in zip(c, g, k, prof[1], rich):
                            print(f"    {comp} Re={re:g} at {ci:.4f}: Ghia {gi:+.5f} n={sols[-1].n} {a:+.5f} "
                                  f"Richardson {r:+.5f} |R-Ghia| {abs(r - gi):.4f}{'' if ki else ' (misprint, skipped)'}")
    elif args.what == "order":
        for re in args.re:
            for n in args.n:
                sols = solve_sequence({"re": re, "lid": args.lid}, {**BENCHMARK.solver, "n": n},
                                      progress=False)[-3:]
                ex = np.array([extrema(s) for s in sols])
                d1, d2 = ex[1] - ex[0], ex[2] - ex[1]
                for k, name in enumerate(("u_min(x=.5)", "v_max(y=.5)", "v_min(y=.5)")):
                    print(f"Re={re:g} lid={args.lid} {name}: " + ", ".join(f"n={s.n}: {ex[i, k]:.6f}" for i, s in enumerate(sols))
                          + f"; order {np.log2(d1[k] / d2[k]):.2f}; Richardson {ex[2, k] + d2[k] / 3:.6f}", flush=True)
    elif args.what == "march":
        for re in args.re:
            for n in args.n:
                steps, t, res, cpu = march(re, n, args.lid)
                c0 = time.process_time()
                solve_sequence({"re": re, "lid": args.lid}, {**BENCHMARK.solver, "n": n}, progress=False)
                print(f"Re={re:g} n={n} lid={args.lid}: projection method {steps} steps to t={t:.1f}, residual {res:.2e}, "
                      f"CPU {cpu:.1f} s; Newton sequence CPU {time.process_time() - c0:.1f} s", flush=True)
    else:
        for re in args.re:
            for n in args.n:
                params, solver, output = BENCHMARK.settings(re=re, lid=args.lid, n=n)
                w0, c0 = time.perf_counter(), time.process_time()
                _, info = solve(params, solver, BENCHMARK.coords(output), progress=False)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                grids = ", ".join(f"n={g['n']}: {g['iterations']} it / {g['factorizations']} LU / {g['wall_s']:.1f} s"
                                  for g in info["per_grid"])
                est = info["error_estimate"]
                print(f"Re={re:g} lid={args.lid} n={n}: wall {wall:.1f} s, CPU {cpu:.1f} s; residual {info['residual']:.2e}; "
                      f"{grids}; error estimate (speed rel L2) {est['total']:.2e}, max|du| {est['per_field_max_abs']['u']:.2e}, "
                      f"observed order {est.get('observed_order_max_norm')}", flush=True)


if __name__ == "__main__":
    main()
