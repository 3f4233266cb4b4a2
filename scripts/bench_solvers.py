"""Benchmark the reference solvers: ms per ETDRK4 step against a plain numpy.fft step and exponax.

Usage:
    python scripts/bench_solvers.py [--steps 200] [--generate] [--threads 1]

Cases: KS N=512, Gray-Scott 200^2 and 256^2, Ginzburg-Landau 200^2 (same problem, same dt, float64).
Columns: ours (pyfftw plans, in-place buffers), numpy (the same step with numpy.fft), exponax
(its ETDRK4 stepper, `order=4`, float64, jit + lax.scan rollout) when `import exponax` works, e.g. in a
throwaway environment:

    python -m venv --system-site-packages /tmp/bench-env && /tmp/bench-env/bin/pip install exponax
    /tmp/bench-env/bin/python scripts/bench_solvers.py

exponax's Gray-Scott writes the reaction as -u v^2 + f(1-u) with unit rates, so its step is timed on
the same grid, dt and scheme with its own coefficients (the cost of a step does not depend on them);
exponax has no complex Ginzburg-Landau. `--generate` adds the wall time of `refsolvers generate`
for every benchmark at paper resolution. Ratios are against ours, measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time

import numpy as np

CASES = [  # (label, benchmark, module, n, dt)
    ("KS N=512", "ks", "refsolvers.pde.kuramoto_sivashinsky", 512, 1e-5),
    ("Gray-Scott 200^2", "gray_scott", "refsolvers.pde.gray_scott", 200, 1e-3),
    ("Gray-Scott 256^2", "gray_scott", "refsolvers.pde.gray_scott", 256, 1e-3),
    ("Ginzburg-Landau 200^2", "ginzburg_landau", "refsolvers.pde.ginzburg_landau", 200, 1e-3),
]


def time_ours(bench_name, module, n, dt, steps, backend):
    from refsolvers import ETDRK4, BENCHMARKS
    from refsolvers._fft import real_fft

    os.environ["REFSOLVERS_FFT"] = backend
    real_fft.cache_clear()
    problem = importlib.import_module(module).make_problem(BENCHMARKS[bench_name].params, n, False)
    stepper = ETDRK4(problem.linear, problem.nonlinear, dt)
    u = problem.u0_hat
    for _ in range(5):
        u = stepper.step(u)
    start = time.perf_counter()
    for _ in range(steps):
        u = stepper.step(u)
    elapsed = time.perf_counter() - start
    del os.environ["REFSOLVERS_FFT"]
    real_fft.cache_clear()
    return 1e3 * elapsed / steps


def time_exponax(bench_name, n, dt, steps):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import exponax as ex
    except ImportError:
        return None
    if bench_name == "ks":
        from refsolvers import BENCHMARKS

        p = BENCHMARKS["ks"].params
        stepper = ex.stepper.KuramotoSivashinskyConservative(
            1, 2 * np.pi, n, dt, convection_scale=p["alpha"], second_order_scale=p["beta"],
            fourth_order_scale=p["gamma"], dealiasing_fraction=1.0, order=4, num_circle_points=32)
        x = np.linspace(0, 2 * np.pi, n, endpoint=False)
        u0 = jax.numpy.asarray((np.cos(x) * (1 + np.sin(x)))[None])
    elif bench_name == "gray_scott":
        stepper = ex.stepper.reaction.GrayScott(2, 2.0, n, dt, order=4, dealiasing_fraction=1.0,
                                                num_circle_points=32)
        g = np.linspace(-1, 1, n, endpoint=False)
        y, x = np.meshgrid(g, g, indexing="ij")
        u0 = jax.numpy.asarray(np.stack([1 - np.exp(-10 * (x**2 + y**2)), np.exp(-10 * (x**2 + y**2))]))
    else:
        return None
    run = jax.jit(lambda u: ex.rollout(stepper, steps, include_init=False)(u)[-1])
    run(u0).block_until_ready()  # compile
    start = time.perf_counter()
    run(u0).block_until_ready()
    return 1e3 * (time.perf_counter() - start) / steps


def generation_times():
    from refsolvers import BENCHMARKS, generate, read_h5

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in BENCHMARKS:
            start = time.perf_counter()
            path = generate(name, tmp, progress=False)
            wall = time.perf_counter() - start
            solver = read_h5(path).solver
            rows.append((name, solver.get("n", solver.get("grid", "-")), solver.get("dt", "-"),
                         solver.get("error_estimate", {}).get("total", float("nan")), wall))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="FFT threads for ours (REFSOLVERS_THREADS)")
    parser.add_argument("--generate", action="store_true", help="also time refsolvers generate (paper resolution)")
    args = parser.parse_args()
    if args.threads:
        os.environ["REFSOLVERS_THREADS"] = str(args.threads)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, FFT threads: "
          f"{os.environ.get('REFSOLVERS_THREADS', 'default')}")
    print("\n| case | ours ms/step | numpy.fft ms/step | exponax ms/step | numpy/ours | exponax/ours |")
    print("|---|---|---|---|---|---|")
    for label, bench_name, module, n, dt in CASES:
        ours = time_ours(bench_name, module, n, dt, args.steps, "pyfftw")
        plain = time_ours(bench_name, module, n, dt, args.steps, "numpy")
        expo = time_exponax(bench_name, n, dt, args.steps)
        expo_txt = f"{expo:.3f}" if expo is not None else "n/a"
        ratio = f"{expo / ours:.2f}" if expo is not None else "n/a"
        print(f"| {label} | {ours:.3f} | {plain:.3f} | {expo_txt} | {plain / ours:.2f} | {ratio} |", flush=True)
    if args.generate:
        print("\n| benchmark | N | dt | error estimate | generate wall s |")
        print("|---|---|---|---|---|")
        for name, n, dt, err, wall in generation_times():
            print(f"| {name} | {n} | {dt} | {err:.2e} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
