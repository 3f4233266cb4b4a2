"""Convergence and predictability study for the Kolmogorov reference (numbers quoted in its docstring).

    python scripts/kolmogorov_study.py run N CFL DT EPS TAG [T_END] [--out DIR]  # save w_hat at t = 0.25 ... T_END
    python scripts/kolmogorov_study.py compare TAG_A TAG_B [--out DIR]    # relative L2 of w at each time

`run` marches the default benchmark at N x N modes with dt = min(DT, CFL / (N max(|u|+|v|))) (CFL = 0: DT
as given), optionally perturbing the initial vorticity by a relative EPS (fixed random direction), and saves
the vorticity spectra. `compare` evaluates both runs' w on a common 256 x 256 grid (exact trigonometric
interpolation) and prints ||w_a - w_b|| / ||w_b|| per saved time.
"""

import argparse
import json
import pathlib
import time

import numpy as np

from refsolvers.pde import kolmogorov as kf

TIMES = np.arange(1, 9) * 0.25


def run(n, cfl, dt_max, eps, tag, out, t_end=2.0):
    problem = kf.make_problem(kf.PARAMS, n)
    if eps:
        grid = problem.grid
        pert = grid.to_spectral(np.random.default_rng(123).standard_normal(grid.shape)) * grid.mode_mask(2 / 3)
        problem.u0_hat = problem.u0_hat + eps * pert * np.linalg.norm(problem.u0_hat) / np.linalg.norm(pert)
    dt, cfl0 = kf.time_step(problem, cfl, dt_max)
    saved = []

    def keep(i, w_hat):
        if i >= 0:
            saved.append(w_hat.copy())
        return np.zeros(0)

    cpu, wall = time.process_time(), time.perf_counter()
    times = TIMES[TIMES <= t_end + 1e-12]
    _, steps, dt_eff = kf.march(problem, dt, times, keep, progress=True, desc=tag)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    np.save(out / f"{tag}.npy", np.array(saved))
    print(json.dumps({"tag": tag, "n": n, "dt": dt_eff, "steps": steps, "cfl_initial": cfl0 * dt_eff / dt,
                      "eps": eps, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
                      "cpu_ms_per_step": round(cpu / steps * 1e3, 2)}))


def compare(tag_a, tag_b, out, m=257):
    values = []
    for tag in (tag_a, tag_b):
        w_hat = np.load(out / f"{tag}.npy")
        grid = kf.make_problem(kf.PARAMS, w_hat.shape[1]).grid
        values.append(grid.evaluate_uniform(w_hat, (m, m)))
    a, b = values
    for t, x, y in zip(TIMES, a, b):  # up to the shorter run
        print(f"t={t:.2f}  rel L2(w) = {np.linalg.norm(x - y) / np.linalg.norm(y):.3e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("run", "compare"))
    parser.add_argument("args", nargs="+")
    parser.add_argument("--out", default="/tmp/kolmogorov_study", type=pathlib.Path)
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.mode == "run":
        n, cfl, dt, eps, tag, *t_end = opts.args
        run(int(n), float(cfl), float(dt), float(eps), tag, opts.out, *map(float, t_end))
    else:
        compare(*opts.args, opts.out)


if __name__ == "__main__":
    main()
