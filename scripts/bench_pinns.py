"""Training throughput of the SOAP-PINN pipeline: steps/s and memory per problem.

Times `--steps` training steps (one jitted `lax.scan` chunk, after a warm-up call that compiles it)
of the paper configuration (PirateNet 3 x 256, RWF, batch 8192, grad-norm + causal weighting) on
burgers, allen_cahn and gray_scott, and reports compile time, steps/s, the XLA temporary buffer
size of one chunk and the process peak RSS. Datasets: ``--data DIR`` with NAME.h5, or small
``--quick`` ones generated into a temporary folder (only the initial data matter for timing).

    python scripts/bench_pinns.py                       # all three, CPU or whatever jax.devices() is
    python scripts/bench_pinns.py --problems burgers --steps 20 --batch 8192 --optimizer soap

``--autobalance``: per-step time of the trainer's AutoBalance-AdamW step on reaction_diffusion (paper
preset: 3 x 50 tanh MLP, 2000 residual + 100 boundary points, float32) beside, in the same process, the
same step with the per-term gradients taken as rows of one `jax.jacrev` (the trainer's form before
block-wise gradients) and a minimal hand-written JAX step of the same network, parameters, loss, points
and schedule (one `jax.grad` per loss term, `optax.scale_by_adam` per term, decoupled decay once).
Each is a jitted `lax.scan` of ``--steps`` steps in its own process (``--same-process``: one after
the other in this one), called twice untimed and then ``--repeats`` times; the fastest call per step is reported (and the median), with the ratio hand-written / trainer time (1.0: as fast as the hand-written step) and the
`uptime` load average before and after (above 1 means another process shared the machine).

    python scripts/bench_pinns.py --autobalance --steps 200 --repeats 5

``--seed-vmap S``: the seeds of one configuration trained together (``jax.vmap`` over S seeds, one jitted
program) against the same seeds one after the other, ms per seed-step, each form in its own process:

    python scripts/bench_pinns.py --seed-vmap 3 --steps 100 --repeats 3 --problems reaction_diffusion
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import sys
import tempfile
import time

import jax
import jax.numpy as jnp


def bench(name: str, data, steps: int, batch: int, optimizer: str, width: int, depth: int) -> dict:
    from pinns.problems import get_problem
    from pinns import Trainer, make_config

    problem = get_problem(name, data)
    cfg = make_config(problem, "paper", batch=batch, optimizer=optimizer, net={"width": width, "depth": depth})
    tr = Trainer(problem, cfg)
    carry = jax.device_put(tr.init_carry(tr.init_params(jax.random.PRNGKey(0))), tr.replicated)
    ta, tb = tr.window_bounds[0]
    args = (jnp.int32(1), jax.random.PRNGKey(1), ta, tb, tr.initial_values)
    start = time.perf_counter()
    compiled = tr.chunk_fn(steps).lower(carry, *args).compile()
    compile_s = time.perf_counter() - start
    carry, out = compiled(carry, *args)  # warm-up
    jax.block_until_ready(out)
    start, cpu = time.perf_counter(), time.process_time()
    carry, out = compiled(carry, *args)
    jax.block_until_ready(out)
    wall = time.perf_counter() - start
    mem = compiled.memory_analysis()
    temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
    return {"problem": name, "device": str(jax.devices()[0].platform), "n_devices": jax.device_count(),
            "arch": f"pirate {depth}x{width}", "batch": batch, "optimizer": optimizer, "steps": steps,
            "compile_s": round(compile_s, 2), "steps_per_s": round(steps / wall, 3),
            "cpu_s_per_step": round((time.process_time() - cpu) / steps, 3),
            "xla_temp_mib": None if temp is None else round(temp / 2**20, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "loss_finite": bool(jnp.all(jnp.isfinite(out["loss"])))}


def _load() -> float:
    return os.getloadavg()[0]


_CLOCK = time.perf_counter
"""The timer of `_time_each` and `bench_seed_vmap`: wall time, or with ``--cpu-time`` (env BENCH_CPU_TIME=1 in the
variant processes) this process's CPU time, which a single-threaded XLA program keeps about the same when
other jobs share the machine (wall time then grows with the load)."""
if os.environ.get("BENCH_CPU_TIME") == "1":
    _CLOCK = time.process_time


def _time_each(variants: dict, n: int, repeats: int) -> tuple[dict, dict]:
    """Seconds per step of each ``name -> (fn(state, start) -> state, state)``, one variant after another.

    Each variant is called twice untimed, then `repeats` times timed. One variant at a time: on
    the XLA CPU runtime the first two calls of a freshly compiled program run 3-5x slower, and
    alternating between programs call by call kept them slow (measured), which no training run does.
    Returns ({name: [seconds per step of each timed call]}, {name: final state}).
    """
    times, states = {}, {}
    for name, (fn, state) in variants.items():
        for k in range(2):
            state = jax.block_until_ready(fn(state, jnp.int32(k * n)))
        times[name] = []
        for r in range(repeats):
            start = _CLOCK()
            state = jax.block_until_ready(fn(state, jnp.int32((r + 2) * n)))
            times[name].append((_CLOCK() - start) / n)
        states[name] = state
    return times, states


def bench_autobalance(steps: int, repeats: int, dtype: str = "float32", only=None, save=None) -> dict:
    """Trainer AutoBalance step vs the jacrev form and a hand-written step (see the module docstring).

    `only`: the variants to time (default all, in this process); `save`: write the final parameters of
    each timed variant to ``save/NAME.npz``.
    """
    import optax

    from pinns import Trainer, make_config
    from pinns.problems import get_problem
    from pinns.problems.reaction_diffusion import exact_u, source

    problem = get_problem("reaction_diffusion", None)
    cfg = make_config(problem, "paper", dtype=dtype)
    tr = Trainer(problem, cfg)
    theta = tr.init_params(jax.random.PRNGKey(0))
    ta, tb = tr.window_bounds[0]
    key, ic = jax.random.fold_in(jax.random.PRNGKey(0), 1), jnp.zeros(0)
    load0 = _load()

    def trainer_chunk(t):
        f = t.chunk_fn(steps)
        return lambda c, s: f(c, s, key, ta, tb, ic)[0]

    jr = Trainer(problem, cfg)  # the same step, per-term gradients as rows of one jax.jacrev
    jr.per_term_grads = lambda th, b, a: (lambda jac, l, x: ([jax.tree_util.tree_map(
        lambda g, i=i: g[i], jac) for i in range(jr.n_terms)], l, x))(*jr.term_grads(th, b, a))

    # minimal hand-written step: same parameters, points (the trainer's fixed draw), loss and schedule
    batch = tr._batch(jnp.int32(0), key, ta, tb, ic)
    res_pts, bc_pts = batch["res"], batch["bc"]
    bc_vals = exact_u(bc_pts)
    w_res, w_bc = (float(w) for w in tr.base_weights)
    et, ex = jnp.eye(2, dtype=tr.dtype)

    def net(p, z):
        x = z
        for layer in p["hidden"]:
            x = jnp.tanh(x @ layer["w"] + layer["b"])
        return (x @ p["out"]["w"] + p["out"]["b"])[0]

    def residual(p, z):
        u = lambda y: net(p, y)  # noqa: E731
        u_t = jax.jvp(u, (z,), (et,))[1]
        u_xx = jax.jvp(lambda y: jax.jvp(u, (y,), (ex,))[1], (z,), (ex,))[1]
        return u_t - u_xx - source(z[0], z[1])

    loss_res = lambda p: w_res * jnp.mean(jax.vmap(lambda z: residual(p, z))(res_pts) ** 2)  # noqa: E731
    loss_bc = lambda p: w_bc * jnp.mean((jax.vmap(lambda z: net(p, z))(bc_pts) - bc_vals) ** 2)  # noqa: E731
    adam = optax.scale_by_adam()

    def hand_step(state, k):
        p, s_res, s_bc = state
        d_res, s_res = adam.update(jax.grad(loss_res)(p), s_res)
        d_bc, s_bc = adam.update(jax.grad(loss_bc)(p), s_bc)
        lr = tr.schedule(k)
        p = jax.tree_util.tree_map(lambda w, a, b: w - lr * (a + b) - lr * cfg.weight_decay * w, p, d_res, d_bc)
        return (p, s_res, s_bc), None

    hand = jax.jit(lambda st, s: jax.lax.scan(hand_step, st, s + jnp.arange(steps, dtype=jnp.int32))[0])
    variants = {"trainer": (trainer_chunk(tr), tr.init_carry(theta)),
                "trainer_jacrev": (trainer_chunk(jr), jr.init_carry(theta)),
                "hand_written": (hand, (theta, adam.init(theta), adam.init(theta)))}
    variants = {k: v for k, v in variants.items() if only is None or k in only}
    times, states = _time_each(variants, steps, repeats)
    if save is not None:
        import numpy as np

        for k, st in states.items():
            leaves = jax.tree_util.tree_leaves(st["theta"] if isinstance(st, dict) else st[0])
            np.savez(pathlib.Path(save) / f"{k}.npz", *[np.asarray(x) for x in leaves])
    if only is not None:
        return {k: v for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    c_trainer, c_hand = states["trainer"], states["hand_written"]
    diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree_util.tree_leaves(c_trainer["theta"]),
                                                             jax.tree_util.tree_leaves(c_hand[0])))
    return {"problem": "reaction_diffusion", "device": jax.devices()[0].platform, "dtype": dtype,
            "steps_per_call": steps, "repeats": repeats,
            **{f"{k}_ms_per_step": round(best[k] * 1e3, 3) for k in best},
            **{f"{k}_ms_per_step_median": round(med[k] * 1e3, 3) for k in med},
            "speed_vs_hand_written": round(best["hand_written"] / best["trainer"], 3),
            "speedup_vs_jacrev": round(best["trainer_jacrev"] / best["trainer"], 3),
            "max_abs_param_diff_trainer_vs_hand": diff, "steps_run_each": steps * (repeats + 2),
            "load_before": round(load0, 2), "load_after": round(_load(), 2)}


def bench_autobalance_isolated(steps: int, repeats: int, dtype: str = "float32") -> dict:
    """`bench_autobalance` with each variant in its own process (one jitted program per process, as
    in training: in one process the variants timed after the first ran 1.5-2x slower, measured)."""
    import subprocess

    import numpy as np

    load0 = _load()
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("trainer", "trainer_jacrev", "hand_written"):
            cmd = [sys.executable, __file__, "--autobalance-variant", name, "--steps", str(steps),
                   "--repeats", str(repeats), "--dtype", dtype, "--save", tmp]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            times.update(json.loads(out.strip().splitlines()[-1]))
        a, b = np.load(pathlib.Path(tmp) / "trainer.npz"), np.load(pathlib.Path(tmp) / "hand_written.npz")
        diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a.files)
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"problem": "reaction_diffusion", "device": jax.devices()[0].platform, "dtype": dtype,
            "steps_per_call": steps, "repeats": repeats, "isolated_processes": True,
            **{f"{k}_ms_per_step": round(best[k] * 1e3, 3) for k in best},
            **{f"{k}_ms_per_step_median": round(med[k] * 1e3, 3) for k in med},
            "speed_vs_hand_written": round(best["hand_written"] / best["trainer"], 3),
            "speedup_vs_jacrev": round(best["trainer_jacrev"] / best["trainer"], 3),
            "max_abs_param_diff_trainer_vs_hand": diff, "steps_run_each": steps * (repeats + 2),
            "load_before": round(load0, 2), "load_after": round(_load(), 2)}


def bench_seed_vmap(seeds: int, steps: int, repeats: int, method: str = "autobalance", problem: str = "reaction_diffusion",
                    only: str | None = None) -> dict:
    """ms per seed-step of `seeds` seeds trained one after the other vs together (``jax.vmap`` over seeds).

    The trainer's step of the `paper` preset (`method`: "autobalance" = AutoBalance-AdamW, "none" = EW)
    in one jitted ``lax.scan`` of `steps` steps; `only` "single" or "vmap" times one form (each in its
    own process through `main`).
    """
    import subprocess

    if only is None:
        load0, times = _load(), {}
        for form in ("single", "vmap"):
            cmd = [sys.executable, __file__, "--seed-vmap-variant", form, "--seeds", str(seeds), "--steps", str(steps),
                   "--repeats", str(repeats), "--balance", method, "--problems", problem]
            times.update(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
        return {"problem": problem, "balance": method, "seeds": seeds, "steps_per_call": steps,
                **{f"{k}_ms_per_seed_step": round(v * 1e3, 3) for k, v in times.items()},
                "vmap_speedup": round(times["single"] / times["vmap"], 3),
                "load_before": round(load0, 2), "load_after": round(_load(), 2)}
    from pinns import Trainer, make_config
    from pinns import step as pinn_steps
    from pinns.problems import get_problem

    prob = get_problem(problem, None)
    tr = Trainer(prob, make_config(prob, "paper", optimizer="adamw", balance=method))
    step_fn = pinn_steps.make_step(tr)
    ta, tb = tr.window_bounds[0]

    def run(carry, start, key):
        body = lambda c, s: step_fn(c, s, key, ta, tb, jnp.zeros(0))  # noqa: E731
        return jax.lax.scan(body, carry, start + jnp.arange(steps, dtype=jnp.int32))[0]

    carries = [tr.init_carry(tr.init_params(jax.random.PRNGKey(s))) for s in range(seeds)]
    keys = [jax.random.PRNGKey(100 + s) for s in range(seeds)]
    if only == "single":
        fn = jax.jit(run)
        call = lambda cs: [fn(c, jnp.int32(0), k) for c, k in zip(cs, keys)]  # noqa: E731
        state = carries
    else:
        fn = jax.jit(jax.vmap(run, in_axes=(0, None, 0)))
        stacked_keys = jnp.stack(keys)
        call = lambda c: fn(c, jnp.int32(0), stacked_keys)  # noqa: E731
        state = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *carries)
    best = float("inf")
    for i in range(repeats + 2):
        start = _CLOCK()
        state = call(state)
        jax.block_until_ready(state)
        if i >= 2:
            best = min(best, (_CLOCK() - start) / (steps * seeds))
    return {only: best}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="burgers,allen_cahn,gray_scott")
    parser.add_argument("--data", help="folder with NAME.h5 (default: quick datasets in a temporary folder)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (one chunk)")
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--autobalance", action="store_true",
                        help="AutoBalance step: trainer vs jacrev form vs hand-written (reaction_diffusion)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per variant (--autobalance)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--autobalance-variant", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    parser.add_argument("--same-process", action="store_true", help="--autobalance: all variants in one process")
    parser.add_argument("--seed-vmap", type=int, metavar="S",
                        help="S seeds one after the other vs jax.vmap over the seeds (paper preset, --balance, first of --problems)")
    parser.add_argument("--balance", default="autobalance", help="--seed-vmap: autobalance or none (EW)")
    parser.add_argument("--seed-vmap-variant", help=argparse.SUPPRESS)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process CPU clock (single-threaded XLA on a shared machine)")
    parser.add_argument("--seeds", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cpu_time:  # the variant processes inherit it
        os.environ["BENCH_CPU_TIME"] = "1"
        global _CLOCK
        _CLOCK = time.process_time
    if args.seed_vmap or args.seed_vmap_variant:
        problem = args.problems.split(",")[0] if args.problems != "burgers,allen_cahn,gray_scott" else "reaction_diffusion"
        out = bench_seed_vmap(args.seed_vmap or args.seeds, args.steps, args.repeats, args.balance, problem,
                              only=args.seed_vmap_variant)
        print(json.dumps(out), flush=True)
        return 0
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    if args.autobalance_variant:
        times = bench_autobalance(args.steps, args.repeats, args.dtype, only=(args.autobalance_variant,), save=args.save)
        print(json.dumps(times), flush=True)
        return 0
    if args.autobalance:
        fn = bench_autobalance if args.same_process else bench_autobalance_isolated
        print(json.dumps(fn(args.steps, args.repeats, args.dtype)), flush=True)
        return 0
    names = [n for n in args.problems.split(",") if n]
    with tempfile.TemporaryDirectory() as tmp:
        data = pathlib.Path(args.data) if args.data else pathlib.Path(tmp)
        for name in names:
            if not (data / f"{name}.h5").exists():
                import refsolvers

                refsolvers.generate(name, data, quick=True, progress=False)
            print(json.dumps(bench(name, data, args.steps, args.batch, args.optimizer, args.width, args.depth)),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
