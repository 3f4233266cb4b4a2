"""High-accuracy path (first version): compact float64 MLP, hard constraints, Adam then a dense quasi-Newton method.

Recipe (Urban, Stefanou & Pons 2024; Kiyani et al. 2025), measured in `results/accuracy_cpu/`:

* network: tanh MLP, ``depth`` hidden layers of ``width`` (3 x 30: about 2k parameters), exact periodic
  embedding of periodic axes, output built by `pinns.constraints` (initial and zero boundary data
  exact), so only the residual is trained;
* collocation: a fixed batch of ``batch`` points, redrawn every ``resample_every`` iterations by
  residual-based adaptive distribution (RAD, Wu et al. 2023: from 4 x batch uniform candidates,
  point i drawn with probability proportional to |r_i| / mean |r| + 1; the first batch is uniform);
* optimizers: Adam (lr 5e-3 x 0.98 every 1000 steps, b1 0.99, b2 0.999, eps 1e-20) for ``adam_steps``,
  then SSBroyden / SSBFGS / BFGS (`pinns.optim.quasi_newton`, strong-Wolfe line search) whose
  inverse Hessian is kept across resamples while its (s, y) pair is restarted (`restart_pairs`);
* float64 throughout; relative L2 against the reference over the whole output grid after every
  resample chunk.

This path is separate from the generic trainer (`pinns.trainer`, `pinns.run`) for now: no time
windows or balancing. A run is bounded by ``budget_s`` wall seconds (per call) and writes
``metrics.jsonl``, ``checkpoint.npz`` after every chunk, ``result.json`` and ``params.npz``. Calling it
again on the same folder with the same settings continues from the checkpoint, bit for bit (more
``qn_steps`` or a new ``budget_s`` are allowed; other changed settings are refused).
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np

__all__ = ["train_accurate"]


def train_accurate(name: str, out_dir, data=None, width: int = 30, depth: int = 3, adam_steps: int = 5000,
                   qn_steps: int = 100_000, method: str = "ssbroyden", batch: int = 5000, resample_every: int = 500,
                   budget_s: float = 3600.0, seed: int = 0, progress: bool = True) -> dict:
    """Train `name` with the high-accuracy recipe (module docstring) into `out_dir`; returns the result dict.

    Args:
        name: problem name; must qualify for hard constraints (`pinns.constraints.check`).
        data: dataset folder or file (None for exact problems).
        budget_s: wall-clock limit in seconds (the run stops after the chunk that crosses it).
    Returns:
        {"problem", "params", "rel_l2", "linf", "mse", "adam_steps", "qn_steps", "wall_s", ...}.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    from .constraints import check, constrained_model
    from .nets import NetConfig, count_params, embedding, make_net
    from .optim import quasi_newton, restart_pairs
    from .problems import get_problem

    problem = get_problem(name, data)
    check(problem)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    embed, in_dim = embedding(problem.axes, problem.periods)
    net = make_net(NetConfig(arch="mlp", width=width, depth=depth, activation="tanh", rff_scale=0.0, rwf=None),
                   in_dim, len(problem.fields))
    theta = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), net.init(jax.random.PRNGKey(seed)))
    n_params = count_params(theta)
    lo = jnp.asarray([problem.domain[a][0] for a in problem.axes])
    hi = jnp.asarray([problem.domain[a][1] for a in problem.axes])

    def model(th):
        return constrained_model(problem, lambda z: net.apply(th, embed(z)))

    def residuals(th, pts):
        u = model(th)
        return jax.vmap(lambda z: jnp.atleast_1d(problem.residual(u, problem.params, z)))(pts)

    def loss(th, pts):
        return jnp.mean(residuals(th, pts) ** 2)

    key = jax.random.PRNGKey(1_000_003 + seed)

    @jax.jit
    def draw(th, k, adaptive):
        cand = lo + (hi - lo) * jax.random.uniform(jax.random.fold_in(key, 2 * k), (4 * batch, len(lo)), jnp.float64)
        r = jnp.linalg.norm(residuals(th, cand), axis=1)
        p = jnp.where(adaptive, r / jnp.mean(r) + 1.0, 1.0)
        idx = jax.random.choice(jax.random.fold_in(key, 2 * k + 1), 4 * batch, (batch,), replace=False, p=p / p.sum())
        return cand[idx]

    ref = problem.reference
    ref_pts = jnp.asarray(ref.points())
    field = problem.metric_fields[0] if problem.metric_fields else problem.fields[0]
    ref_vals = np.asarray(ref.fields[field]).ravel()
    f_idx = problem.fields.index(field)
    predict = jax.jit(lambda th: jax.vmap(lambda z: model(th)(z)[f_idx])(ref_pts))

    def errors(th):
        diff = np.asarray(predict(th)) - ref_vals
        return {"rel_l2": float(np.linalg.norm(diff) / np.linalg.norm(ref_vals)), "linf": float(np.max(np.abs(diff))),
                "mse": float(np.mean(diff**2))}

    adam = optax.adam(optax.exponential_decay(5e-3, 1000, 0.98), b1=0.99, b2=0.999, eps=1e-20)

    @jax.jit
    def adam_chunk(th, st, pts):
        def body(c, _):
            th, st = c
            value, g = jax.value_and_grad(loss)(th, pts)
            up, st = adam.update(g, st, th)
            return (optax.apply_updates(th, up), st), value
        (th, st), values = jax.lax.scan(body, (th, st), None, length=resample_every)
        return th, st, values[-1]

    qn = quasi_newton(method)

    @jax.jit
    def qn_chunk(th, st, pts):
        f = lambda th: loss(th, pts)  # noqa: E731  (the line search needs the loss on this batch)
        st = restart_pairs(st)

        def body(c, _):
            th, st = c
            value, g = optax.value_and_grad_from_state(f)(th, state=st)
            up, st = qn.update(g, st, th, value=value, grad=g, value_fn=f)
            return (optax.apply_updates(th, up), st), (value, st[1].info.num_linesearch_steps)
        (th, st), (values, n_ls) = jax.lax.scan(body, (th, st), None, length=resample_every)
        return th, st, values[-1], jnp.sum(n_ls)

    from . import checkpoint as ckpt

    settings = {"problem": name, "width": width, "depth": depth, "adam_steps": adam_steps, "method": method,
                "batch": batch, "resample_every": resample_every, "seed": seed}
    metrics, ck = out / "metrics.jsonl", out / "checkpoint.npz"
    state, phase, step, k, wall0 = adam.init(theta), "adam", 0, 0, 0.0
    if ck.exists():
        meta = ckpt.read_meta(ck)
        if meta.get("settings") != settings:
            raise ValueError(f"{out} holds a run with other settings ({meta.get('settings')}); use another folder")
        phase = meta["phase"]
        template = {"theta": theta, "state": adam.init(theta) if phase == "adam" else qn.init(theta)}
        tree, meta = ckpt.load(ck, template)
        theta, state, step, k = tree["theta"], tree["state"], int(meta["step"]), int(meta["k"])
        kept = [x for x in metrics.read_text().splitlines() if x and json.loads(x)["step"] <= step]
        metrics.write_text("".join(x + "\n" for x in kept))
        wall0 = json.loads(kept[-1])["wall_s"] if kept else 0.0
    else:
        metrics.unlink(missing_ok=True)
    t0 = time.perf_counter() - wall0
    total = adam_steps + qn_steps
    start = time.perf_counter()
    while step < total and time.perf_counter() - start < budget_s:
        pts = draw(theta, k, k > 0)
        k += 1
        if phase == "adam" and step >= adam_steps:
            phase, state = method, qn.init(theta)
        record = {"step": step + resample_every, "phase": phase}
        if phase == "adam":
            theta, state, value = adam_chunk(theta, state, pts)
        else:
            theta, state, value, n_ls = qn_chunk(theta, state, pts)
            record.update(linesearch_evals=int(n_ls), qn_updates=int(state[0].n_updates),
                          qn_skipped=int(state[0].n_skipped), qn_resets=int(state[0].n_resets))
        step += resample_every
        if not np.isfinite(float(value)):
            raise FloatingPointError(f"{name}: loss became non-finite at step {step}")
        record.update(loss=float(value), **errors(theta), wall_s=round(time.perf_counter() - t0, 2))
        with open(metrics, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        ckpt.save(ck, {"theta": theta, "state": state}, step=step, k=k, phase=phase, settings=settings)
        if progress:
            print(f"{name} {phase} {step}: loss {record['loss']:.3e} rel_l2 {record['rel_l2']:.3e} "
                  f"t {record['wall_s']:.0f}s", flush=True)
    from jax.flatten_util import ravel_pytree

    flat, _ = ravel_pytree(theta)
    np.savez(out / "params.npz", theta=np.asarray(flat))
    result = {"problem": name, "field": field, "params": n_params, "width": width, "depth": depth,
              "method": method, "batch": batch, "resample_every": resample_every, "sampling": "RAD",
              "adam_steps": min(step, adam_steps), "qn_steps": max(step - adam_steps, 0), **errors(theta),
              "wall_s": round(time.perf_counter() - t0, 1), "budget_s": budget_s, "seed": seed,
              "reference": problem.source}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
