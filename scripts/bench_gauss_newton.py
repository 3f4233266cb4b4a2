"""Where a Levenberg-Marquardt iteration spends its time, and how it compares with the alternatives.

On one problem of the accurate preset (default Burgers, 3 x 30 tanh MLP, float64, hard constraints) at one
batch size, all in the same process on the same parameters and points:

* the Jacobian of the weighted residual vector: one reverse pass per point (`pinns.residuals.residual_jacobian`,
  what the trainer uses) against `jax.jacfwd` of the whole vector (what optimistix/lineax materialise);
* the Gauss-Newton matrix J^T J, its Cholesky factorisation, and one whole `levenberg_marquardt` update (dense
  and matrix-free CG);
* one SSBroyden iteration (gradient, direction, strong-Wolfe line search) for scale;
* with ``--optimistix`` (pip-installs nothing: it must already be installed, e.g. ``pip install optimistix``),
  optimistix's ``LevenbergMarquardt`` step on the same residual function, and the loss after the same number of
  iterations from the same start for both.

Times are medians of ``--repeats`` calls after a warm-up (compile excluded), in milliseconds. Run it on an idle
machine, single-threaded for a per-core figure:

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" OPENBLAS_NUM_THREADS=1 \\
        python scripts/bench_gauss_newton.py --batch 5000 [--optimistix] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

from pinns import optim  # noqa: E402
from pinns.config import make_config  # noqa: E402
from pinns.problems import get_problem  # noqa: E402
from pinns.residuals import residual_jacobian, residual_vector  # noqa: E402
from pinns.run import Run  # noqa: E402


def timed(fn, *args, repeats: int = 5) -> float:
    """Median wall milliseconds of fn(*args) (jitted; one warm-up call first)."""
    jax.block_until_ready(fn(*args))
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        out.append(1e3 * (time.perf_counter() - t))
    return statistics.median(out)


def setup(name: str, data: str | None, batch: int, width: int, depth: int):
    problem = get_problem(name, data)
    cfg = make_config(problem, "accurate", batch=batch, net={"width": width, "depth": depth},
                      optimizer="adam:10,lm:10", resample_every=10)
    run = Run("/nonexistent", problem, cfg)
    carry = run.fresh_state().carry
    return run.trainer, carry["theta"], carry["batch"]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", default="burgers")
    ap.add_argument("--data", default="datasets", help="dataset folder (for problems without an exact solution)")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--width", type=int, default=30)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20, help="iterations for the loss comparison with optimistix")
    ap.add_argument("--optimistix", action="store_true", help="also time optimistix.LevenbergMarquardt")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    tr, theta, batch = setup(args.problem, args.data, args.batch, args.width, args.depth)
    w = tr.base_weights
    flat, unravel = ravel_pytree(theta)
    f_flat = lambda x: residual_vector(tr, unravel(x), batch, 0.0, w)  # noqa: E731
    res = {"problem": args.problem, "batch": args.batch, "params": int(flat.shape[0]),
           "residuals": int(f_flat(flat).shape[0]), "devices": str(jax.devices())}

    jac_rev = jax.jit(lambda th: residual_jacobian(tr, th, batch, 0.0, w)[1])
    jac_fwd = jax.jit(jax.jacfwd(f_flat))
    res["jacobian_per_point_reverse_ms"] = timed(jac_rev, theta, repeats=args.repeats)
    J = jac_rev(theta)
    try:  # forward mode carries P tangents through the whole batch at once: it may not fit in memory
        res["jacobian_jacfwd_ms"] = timed(jac_fwd, flat, repeats=max(1, args.repeats // 2))
        res["jacobian_max_abs_diff"] = float(jnp.max(jnp.abs(J - jac_fwd(flat))))
    except jax.errors.JaxRuntimeError as err:
        res["jacobian_jacfwd_ms"] = f"failed: {str(err).splitlines()[0][:120]}"
    res["gram_JtJ_xla_ms"] = timed(jax.jit(lambda j: j.T @ j), J, repeats=args.repeats)
    res["gram_JtJ_used_ms"] = timed(jax.jit(optim.gram), J, repeats=args.repeats)  # NumPy's BLAS on a CPU
    G = J.T @ J
    res["cholesky_ms"] = timed(jax.jit(lambda g: jnp.linalg.cholesky(g + 1e-6 * jnp.max(jnp.diag(g)) * jnp.eye(g.shape[0]))),
                               G, repeats=args.repeats)

    for solver in ("cholesky", "cg"):
        lm = optim.levenberg_marquardt(solver=solver)

        def lm_step(th, s, lm=lm, solver=solver):
            f = lambda p: residual_vector(tr, p, batch, 0.0, w)  # noqa: E731
            if solver == "cholesky":
                r, jac, _ = residual_jacobian(tr, th, batch, 0.0, w)
            else:
                r, jac = f(th), None
            upd, s = lm.update(th, s, th, residual_fn=f, residuals=r, jacobian=jac)
            return optax.apply_updates(th, upd), s

        step = jax.jit(lm_step)
        res[f"lm_{solver}_update_ms"] = timed(step, theta, lm.init(theta), repeats=args.repeats)

    qn = optim.ssbroyden()
    loss = lambda th: jnp.sum(residual_vector(tr, th, batch, 0.0, w) ** 2)  # noqa: E731

    @jax.jit
    def qn_step(th, s):
        value, grad = optax.value_and_grad_from_state(loss)(th, state=s)
        upd, s = qn.update(grad, s, th, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(th, upd), s

    res["ssbroyden_iteration_ms"] = timed(qn_step, theta, qn.init(theta), repeats=args.repeats)

    if args.optimistix:
        try:
            res.update(compare_optimistix(f_flat, flat, theta, tr, batch, w, args.iters, args.repeats))
        except jax.errors.JaxRuntimeError as err:
            res["optimistix_step_ms"] = f"failed: {str(err).splitlines()[0][:120]}"
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return res


def compare_optimistix(f_flat, flat, theta, tr, batch, w, iters: int, repeats: int) -> dict:
    """optimistix.LevenbergMarquardt's step on the same residuals: ms per step, and the loss after `iters`
    steps of it and of ours from the same start."""
    import equinox as eqx
    import optimistix as optx

    solver = optx.LevenbergMarquardt(rtol=1e-14, atol=1e-14)
    fn = lambda x, _: (f_flat(x), None)  # noqa: E731  (optimistix's internal form: value and aux)
    shape = jax.eval_shape(f_flat, flat)
    state = solver.init(fn, flat, None, {}, shape, None, frozenset())
    step = eqx.filter_jit(lambda x, s: solver.step(fn, x, None, {}, s, frozenset())[:2])
    out = {"optimistix_step_ms": timed(step, flat, state, repeats=repeats)}
    x, s = flat, state
    for _ in range(iters):
        x, s = step(x, s)
    out["optimistix_loss_after"] = float(jnp.sum(f_flat(x) ** 2))
    lm = optim.levenberg_marquardt()
    th, st = theta, lm.init(theta)
    ours = jax.jit(lambda th, st: _ours(tr, lm, th, st, batch, w))
    for _ in range(iters):
        th, st = ours(th, st)
    out["ours_loss_after"] = float(jnp.sum(residual_vector(tr, th, batch, 0.0, w) ** 2))
    out["start_loss"] = float(jnp.sum(f_flat(flat) ** 2))
    out["iters"] = iters
    return out


def _ours(tr, lm, th, st, batch, w):
    r, jac, _ = residual_jacobian(tr, th, batch, 0.0, w)
    f = lambda p: residual_vector(tr, p, batch, 0.0, w)  # noqa: E731
    upd, st = lm.update(th, st, th, residual_fn=f, residuals=r, jacobian=jac)
    return optax.apply_updates(th, upd), st


if __name__ == "__main__":
    main()
