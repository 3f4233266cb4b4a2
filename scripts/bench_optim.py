"""Time one training step of SOAP, Adam and AutoBalance(Adam, 3 terms) on a PirateNet-sized MLP.

The network is a plain tanh MLP written inline (not pinns.nets): an input layer 2 -> W, ``depth``
dense W x W layers (default 3 x 256, the size of a PirateNet's dense stack) and an output layer
W -> 1; the loss has three terms (mean squared errors against three targets on one batch of
``batch`` random points). Adam and SOAP step on the gradient of the summed loss (one backward
pass); AutoBalance gets the three per-term gradients from one ``jax.jacrev`` pass. Two timings per
optimizer: the whole jitted step (forward, backward, update) and the optimizer update alone (on
fixed gradients). SOAP's first call and its eigenbasis refreshes (every ``precondition_frequency``
steps) fall inside the timed window in proportion. Ratios are against Adam in the same run.

Usage:
    nice python scripts/bench_optim.py [--batch 1024] [--width 256] [--depth 3] [--steps 20]
"""

from __future__ import annotations

import os

# SOAP's eigenbasis refresh calls LAPACK (QR; eigh on the first call) through the OpenBLAS that
# jaxlib shares with scipy. On a shared, loaded machine OpenBLAS's own threads spin against
# each other: a 256x256 QR then takes seconds instead of ~10 ms. One BLAS thread is the default
# here (set OPENBLAS_NUM_THREADS yourself to override); it must be set before numpy/jax load.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from pinns.optim import auto_adam, per_term_grads, soap  # noqa: E402


def init_mlp(key, width: int, depth: int, d_in: int = 2, d_out: int = 1):
    sizes = [d_in] + [width] * (depth + 1) + [d_out]
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (m, n)) * jnp.sqrt(2.0 / (m + n)), "b": jnp.zeros(n)})
    return params


def mlp(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_terms(params, x):
    u = mlp(params, x)[:, 0]
    t, s = x[:, 0], x[:, 1]
    targets = (jnp.sin(jnp.pi * s) * jnp.cos(t), jnp.exp(-t) * s, jnp.tanh(3.0 * s * t))
    return jnp.stack([jnp.mean((u - f) ** 2) for f in targets])


def make_steps(opt, multi: bool):
    """Return (full_step, update_only), both jitted."""

    @jax.jit
    def full_step(params, state, x):
        if multi:
            values, grads = per_term_grads(loss_terms, params, x)
        else:
            values, grads = jax.value_and_grad(lambda p: jnp.sum(loss_terms(p, x)))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, jnp.sum(values)

    @jax.jit
    def update_only(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return full_step, update_only


def time_loop(fn, carry, steps: int, repeats: int):
    """Median over repeats of the mean seconds per step; carry = (params, state), fn(*carry) -> carry'."""
    per_step = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            carry = fn(carry)
        jax.block_until_ready(carry)
        per_step.append((time.perf_counter() - t0) / steps)
    return statistics.median(per_step), carry


def bench(name, opt, multi, params, x, steps, repeats):
    full_step, update_only = make_steps(opt, multi)
    state = opt.init(params)
    # warm-up: compile, SOAP's init call, and a few steps
    carry = (params, state)
    for _ in range(3):
        p, s, _ = full_step(*carry, x)
        carry = (p, s)
    jax.block_until_ready(carry)
    t_full, carry = time_loop(lambda c: full_step(*c, x)[:2], carry, steps, repeats)

    if multi:
        _, grads = per_term_grads(loss_terms, carry[0], x)
    else:
        grads = jax.grad(lambda p: jnp.sum(loss_terms(p, x)))(carry[0])
    jax.block_until_ready(update_only(*carry, grads))  # compile
    t_upd, _ = time_loop(lambda c: update_only(*c, grads), carry, steps, repeats)
    return name, t_full, t_upd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3, help="number of dense width x width layers")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if min(args.batch, args.width, args.depth, args.steps, args.repeats) < 1:
        ap.error("all sizes must be positive")

    key_p, key_x = jax.random.split(jax.random.PRNGKey(args.seed))
    params = init_mlp(key_p, args.width, args.depth)
    x = jax.random.uniform(key_x, (args.batch, 2), minval=-1.0, maxval=1.0)
    n_params = sum(int(np.prod(l.shape)) for l in jax.tree.leaves(params))

    lr = 1e-3
    cases = [
        ("adam", optax.adam(lr), False),
        ("soap (freq 10)", soap(lr), False),
        ("autobalance(adam, 3 terms)", auto_adam(lr, 3), True),
    ]
    rows = [bench(name, opt, multi, params, x, args.steps, args.repeats) for name, opt, multi in cases]
    base_full, base_upd = rows[0][1], rows[0][2]

    dev = jax.devices()[0]
    print(
        f"device: {dev.platform} ({dev.device_kind}), jax {jax.__version__}, params {n_params:,}, "
        f"MLP 2-{args.width}-{'x'.join([str(args.width)] * args.depth)}-1, batch {args.batch}, "
        f"{args.steps} steps x {args.repeats} repeats (median), "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}\n"
    )
    print("| optimizer | full step (ms) | vs adam | update only (ms) | vs adam |")
    print("|---|---:|---:|---:|---:|")
    for name, t_full, t_upd in rows:
        print(
            f"| {name} | {1e3 * t_full:.2f} | {t_full / base_full:.2f} | "
            f"{1e3 * t_upd:.2f} | {t_upd / base_upd:.2f} |"
        )


if __name__ == "__main__":
    main()
