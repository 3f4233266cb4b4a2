"""Benchmark the reference solvers: ms per ETDRK4 step against a plain numpy.fft step and exponax.

Usage:
    python scripts/bench_solvers.py [--steps 200] [--generate] [--threads 1] [--ns] [--only-ns]

Cases: KS N=512, Gray-Scott 200^2 and 256^2, Ginzburg-Landau 200^2 (same problem, same dt, float64).
Columns: ours (pyfftw plans, in-place buffers), numpy (the same step with numpy.fft), exponax
(its ETDRK4 stepper, `order=4`, float64, jit + lax.scan rollout) when `import exponax` works, e.g. in a
throwaway environment:

    python -m venv --system-site-packages /tmp/bench-env && /tmp/bench-env/bin/pip install exponax
    /tmp/bench-env/bin/python scripts/bench_solvers.py

exponax's Gray-Scott writes the reaction as -u v^2 + f(1-u) with unit rates, so its step is timed on
the same grid, dt and scheme with its own coefficients (the cost of a step does not depend on them);
exponax has no complex Ginzburg-Landau.

`--ns` adds Kolmogorov flow (Re = 1e4, the benchmark's initial field) at 256^2 and 512^2 at the
benchmark's CFL step: ours (vorticity ETDRK4, 4 stages of 4 real FFTs) against jax-cfd's spectral
`NavierStokes2D` with its Kolmogorov forcing and `crank_nicolson_rk4` (5 stages of 5 FFTs plus 2 for
the forcing), and exponax's `KolmogorovFlowVorticity` (ETDRK4, `order=4`, drag 0), each jit-compiled
with a `lax.scan` over the steps, float64 (install `jax-cfd` in the throwaway environment too).

`--generate` adds the wall time of `refsolvers generate`
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


def ms_per_step(problem, dt, steps, warmup=5):
    """Milliseconds per ETDRK4 step of a refsolvers SpectralProblem (after `warmup` untimed steps)."""
    from refsolvers import ETDRK4

    stepper = ETDRK4(problem.linear, problem.nonlinear, dt)
    u = problem.u0_hat
    for _ in range(warmup):
        u = stepper.step(u)
    start = time.perf_counter()
    for _ in range(steps):
        u = stepper.step(u)
    return 1e3 * (time.perf_counter() - start) / steps


def time_ours(bench_name, module, n, dt, steps, backend):
    from refsolvers import BENCHMARKS
    from refsolvers._fft import real_fft

    os.environ["REFSOLVERS_FFT"] = backend
    real_fft.cache_clear()
    from refsolvers._spectral import make_problem

    problem = make_problem(BENCHMARKS[bench_name], n, dealias=False)
    ms = ms_per_step(problem, dt, steps)
    del os.environ["REFSOLVERS_FFT"]
    real_fft.cache_clear()
    return ms


def _peer(module):
    """`module` imported with JAX in float64, or None when the peer is not installed."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        return importlib.import_module(module)
    except ImportError:
        return None


def time_exponax(bench_name, n, dt, steps):
    ex = _peer("exponax")
    if ex is None:
        return None
    import jax
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


NS_SIZES = (256, 512)


def kolmogorov_case(n):
    """(problem, dt, initial vorticity on the n x n grid) of the Kolmogorov benchmark at its CFL step."""
    from refsolvers import BENCHMARKS
    from refsolvers.pde import kolmogorov as kf

    bench = BENCHMARKS["kolmogorov"]
    problem = kf.make_problem(bench.params, n)
    dt, _ = kf.time_step(problem, bench.solver["cfl"], bench.solver["dt"])
    return problem, dt, problem.grid.to_physical(problem.u0_hat)


def time_ours_ns(n, steps):
    problem, dt, _ = kolmogorov_case(n)
    return ms_per_step(problem, dt, steps, warmup=3)


def _time_scan(step, state, steps):
    import jax

    run = jax.jit(lambda s: jax.lax.fori_loop(0, steps, lambda _, x: step(x), s))
    jax.block_until_ready(run(state))  # compile
    start = time.perf_counter()
    jax.block_until_ready(run(state))
    return 1e3 * (time.perf_counter() - start) / steps


def time_jax_cfd_ns(n, steps):
    cfd, spectral = _peer("jax_cfd.base"), _peer("jax_cfd.spectral")
    if cfd is None or spectral is None:
        return None
    import jax.numpy as jnp
    from refsolvers import BENCHMARKS

    params = BENCHMARKS["kolmogorov"].params
    _, dt, w0 = kolmogorov_case(n)
    grid = cfd.grids.Grid((n, n), domain=((0.0, 1.0), (0.0, 1.0)))
    forcing = lambda g: cfd.forcings.kolmogorov_forcing(  # noqa: E731
        g, scale=params["forcing_amplitude"], k=2 * np.pi * params["forcing_mode"])
    equation = spectral.equations.NavierStokes2D(params["nu"], grid, smooth=True, forcing_fn=forcing)
    step = spectral.time_stepping.crank_nicolson_rk4(equation, dt)
    return _time_scan(step, jnp.fft.rfftn(jnp.asarray(w0.T)), steps)


def time_exponax_ns(n, steps):
    ex = _peer("exponax")
    if ex is None:
        return None
    import jax.numpy as jnp
    from refsolvers import BENCHMARKS

    params = BENCHMARKS["kolmogorov"].params
    _, dt, w0 = kolmogorov_case(n)
    stepper = ex.stepper.KolmogorovFlowVorticity(2, 1.0, n, dt, diffusivity=params["nu"], drag=0.0,
                                                 injection_mode=params["forcing_mode"], order=4)
    return _time_scan(stepper, jnp.asarray(w0[None]), steps)


def generation_times(names):
    """(name, n, dt, stored error estimate, wall s) of `refsolvers generate NAME` for each name."""
    from refsolvers import generate, read_h5

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
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
    parser.add_argument("--generate", nargs="?", const="all", metavar="NAMES",
                        help="also time refsolvers generate at paper resolution (all, or e.g. kolmogorov,lid_driven_cavity)")
    parser.add_argument("--ns", action="store_true", help="also time Kolmogorov flow against jax-cfd and exponax")
    parser.add_argument("--ns-steps", type=int, default=50, dest="ns_steps", help="steps per Kolmogorov timing")
    parser.add_argument("--only-ns", action="store_true", dest="only_ns", help="skip the ETDRK4 1-D/2-D cases")
    args = parser.parse_args()
    args.ns = args.ns or args.only_ns
    if args.threads:
        os.environ["REFSOLVERS_THREADS"] = str(args.threads)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, FFT threads: "
          f"{os.environ.get('REFSOLVERS_THREADS', 'default')}")
    if not args.only_ns:
        print("\n| case | ours ms/step | numpy.fft ms/step | exponax ms/step | numpy/ours | exponax/ours |")
        print("|---|---|---|---|---|---|")
    for label, bench_name, module, n, dt in [] if args.only_ns else CASES:
        ours = time_ours(bench_name, module, n, dt, args.steps, "pyfftw")
        plain = time_ours(bench_name, module, n, dt, args.steps, "numpy")
        expo = time_exponax(bench_name, n, dt, args.steps)
        expo_txt = f"{expo:.3f}" if expo is not None else "n/a"
        ratio = f"{expo / ours:.2f}" if expo is not None else "n/a"
        print(f"| {label} | {ours:.3f} | {plain:.3f} | {expo_txt} | {plain / ours:.2f} | {ratio} |", flush=True)
    if args.ns:
        print("\n| Kolmogorov Re=1e4 | ours ms/step | jax-cfd CN-RK4 ms/step | exponax ETDRK4 ms/step "
              "| jax-cfd/ours | exponax/ours |")
        print("|---|---|---|---|---|---|")
        for n in NS_SIZES:
            ours = time_ours_ns(n, args.ns_steps)
            peers = [time_jax_cfd_ns(n, args.ns_steps), time_exponax_ns(n, args.ns_steps)]
            cells = [f"{p:.2f}" if p is not None else "n/a" for p in peers]
            ratios = [f"{p / ours:.2f}" if p is not None else "n/a" for p in peers]
            print(f"| {n}^2 | {ours:.2f} | {' | '.join(cells)} | {' | '.join(ratios)} |", flush=True)
    if args.generate:
        print("\n| benchmark | N | dt | error estimate | generate wall s |")
        print("|---|---|---|---|---|")
        from refsolvers import BENCHMARKS

        names = list(BENCHMARKS) if args.generate == "all" else args.generate.split(",")
        for name, n, dt, err, wall in generation_times(names):
            print(f"| {name} | {n} | {dt} | {err:.2e} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
