"""Convergence and predictability study for the Kolmogorov reference (numbers quoted in its docstring).

    python scripts/kolmogorov_study.py run N CFL DT EPS TAG [T_END] [--out DIR]  # save w_hat at t = 0.25 ... T_END
    python scripts/kolmogorov_study.py compare TAG_A TAG_B [--out DIR]    # relative L2 of w at each time
    python scripts/kolmogorov_study.py spectra TAG... [--time 2] [--out DIR] [--results DIR]  # E(k) of w, PNG + JSON

`run` marches the default benchmark at N x N modes with dt = min(DT, CFL / (N max(|u|+|v|))) (CFL = 0: DT
as given), optionally perturbing the initial vorticity by a relative EPS (fixed random direction), and saves
the vorticity spectra. `compare` evaluates both runs' w on a common 256 x 256 grid (exact trigonometric
interpolation) and prints ||w_a - w_b|| / ||w_b|| per saved time. `spectra` computes the shell-summed
enstrophy spectrum E(k) of w (`refsolvers.spectrum`) of each run on its own grid at --time, writes a
log-log PNG with all curves and a JSON with, for each run against the finest one (the last TAG), the
first k where they differ by more than 10 % and the energy ratio in the shells k > k_max / 2 of the
coarser grid.
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


def spectra(tags, out, results, t=2.0):
    from refsolvers.spectrum import departure_wavenumber, energy_spectrum, plot_spectra

    index = int(np.argmin(np.abs(TIMES - t)))
    curves, sizes = {}, {}
    for tag in tags:
        w_hat = np.load(out / f"{tag}.npy", mmap_mode="r")[index]
        grid = kf.make_problem(kf.PARAMS, w_hat.shape[0]).grid
        label = f"{tag} ({w_hat.shape[0]}^2)"
        curves[label] = energy_spectrum(grid.to_physical(np.asarray(w_hat)), drop_endpoint=False)
        sizes[label] = w_hat.shape[0]
    finest = list(curves)[-1]
    k_ref, e_ref = curves[finest]
    rows = {}
    for label, (k, e) in curves.items():
        size = min(len(k), len(k_ref))
        band = k[:size] > sizes[label] / 4  # k > k_max / 2, k_max = n / 2 of the coarser grid
        ratio = float(np.sum(e[:size][band]) / np.sum(e_ref[:size][band]))
        rows[label] = {"n": sizes[label], "departure_k_vs_finest": departure_wavenumber(k, e, e_ref, 0.1, 1e-12),
                       "high_k_ratio_vs_finest": ratio, "total": float(np.sum(e))}
        print(f"{label}: departs from {finest} (>10 %) at k = {rows[label]['departure_k_vs_finest']}, "
              f"energy ratio in k > {sizes[label] // 4}: {ratio:.3f}")
    results.mkdir(parents=True, exist_ok=True)
    title = f"Kolmogorov flow Re=1e4, vorticity spectrum at t={TIMES[index]:g}"
    plot_spectra(curves, results / "kolmogorov_spectra.png", title=title, ylabel="E(k) of w")
    (results / "kolmogorov_spectra.json").write_text(json.dumps(
        {"t": float(TIMES[index]), "finest": finest, "runs": rows,
         "spectra": {label: {"k": k.tolist(), "E": e.tolist()} for label, (k, e) in curves.items()}}) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("run", "compare", "spectra"))
    parser.add_argument("args", nargs="+")
    parser.add_argument("--out", default="/tmp/kolmogorov_study", type=pathlib.Path)
    parser.add_argument("--time", default=2.0, type=float, help="spectra: output time")
    parser.add_argument("--results", default="results/kolmogorov_spectra", type=pathlib.Path,
                        help="spectra: folder of the PNG and JSON")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.mode == "run":
        n, cfl, dt, eps, tag, *t_end = opts.args
        run(int(n), float(cfl), float(dt), float(eps), tag, opts.out, *map(float, t_end))
    elif opts.mode == "compare":
        compare(*opts.args, opts.out)
    else:
        spectra(opts.args, opts.out, opts.results, opts.time)


if __name__ == "__main__":
    main()
