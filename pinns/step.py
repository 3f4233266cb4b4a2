"""One optimisation step of a `pinns.trainer.Trainer`, and the jitted chunks of steps the run loop calls.

The step is a pure function ``step(carry, step, base_key, ta, tb, ic_values) -> (carry, out)``:

* ``carry``: ``{"theta", "opt", "weights", "prev_grad"}`` (`Trainer.init_carry`), plus ``"batch"``
  (the kept points, `resample_every`) and ``"rba"`` (per-point weights, ``balance="rba"``);
* ``out``: the per-step metrics ``{"loss", "terms", "weights", "inter_alignment", "causal_min"}``.

A Gauss-Newton phase (Levenberg-Marquardt) runs `make_gn_chunk` on the kept batch. A quasi-Newton phase runs
`make_qn_chunk` instead: its line search evaluates the loss of the kept
batch (``value_fn``), so the points stay fixed within the chunk; with RBA the weights change after
every step, so value and gradient are evaluated afresh each step instead of taken from the line
search's cache, and the (s, y) pair spans two slightly different losses (as in vRBA, Toscano et al. 2025).

Two gradient paths: one gradient of the weighted loss (the trainer's own balancing: "gradnorm",
"ntk", "none"), or per-term gradients for optimizers whose ``update`` takes a list of them
(AutoBalance, the `pinns.optim.BALANCERS` baselines; DWA also gets ``losses=``). Steps run in
`jax.lax.scan` chunks inside one `jit` (`make_chunk`); grad-norm / NTK weights are refreshed
between chunks (`make_refresh`). Randomness is stateless (`fold_in(key, step)`), so a resumed run
repeats an uninterrupted one bit for bit.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from . import optim


def make_step(tr, phase=None) -> Callable:
    """The step function of trainer `tr` in a first-order `phase` (default: the first; not jitted:
    `make_chunk` scans it)."""
    phase = phase or tr.phases[0]
    optimizer, per_term, needs_losses = phase.optimizer, phase.per_term, phase.needs_losses

    def step_fn(carry, step, base_key, ta, tb, ic_values, batch=None):
        if batch is None:
            batch = carry["batch"] if "batch" in carry else tr._batch(step, base_key, ta, tb, ic_values)
        theta, weights, rba = carry["theta"], carry["weights"], carry.get("rba")
        if per_term:  # rba is a trainer balance: never per-term
            raw, losses, aux = tr.per_term_grads(theta, batch, ta)
            grads = [jax.tree_util.tree_map(lambda g, i=i: weights[i] * g, raw[i]) for i in range(tr.n_terms)]
            extra = {"losses": losses} if needs_losses else {}
            updates, opt = optimizer.update(grads, carry["opt"], theta, **extra)
            grad = jax.tree_util.tree_map(lambda *g: sum(g), *grads)
            loss = jnp.sum(weights * losses)
        else:
            (loss, (losses, aux)), grad = jax.value_and_grad(tr.weighted_loss, has_aux=True)(
                theta, batch, ta, weights, rba)
            updates, opt = optimizer.update(grad, carry["opt"], theta)
        theta = optax.apply_updates(theta, updates)
        inter = optim.alignment_score([carry["prev_grad"], grad])
        out = {"loss": loss, "terms": losses, "weights": weights, "inter_alignment": inter,
               "causal_min": aux.get("causal_min", jnp.ones((), tr.dtype))}
        new = {**carry, "theta": theta, "opt": opt, "weights": weights, "prev_grad": grad}
        if rba is not None:
            new["rba"] = optim.rba_update(rba, aux["residual"])
        return new, out

    return step_fn


def _chunk_end(tr, carry, scanned, batch, ta, values, **per_step) -> tuple:
    """(carry, out) at the end of a second-order chunk: the scanned (theta, opt, rba) put back in the carry; the
    term losses after the last step broadcast over the chunk's `values` (losses per step), plus `per_step`."""
    theta, opt, rba = scanned
    n, weights = values.shape[0], carry["weights"]
    losses, aux = tr.term_losses(theta, batch, ta, rba)
    new = {**carry, "theta": theta, "opt": opt}
    if rba is not None:
        new["rba"] = rba
    out = {"loss": values, "terms": jnp.broadcast_to(losses, (n, tr.n_terms)),
           "weights": jnp.broadcast_to(weights, (n, tr.n_terms)),
           "inter_alignment": jnp.full((n,), jnp.nan, tr.dtype),
           "causal_min": jnp.broadcast_to(aux.get("causal_min", jnp.ones((), tr.dtype)), (n,)), **per_step}
    return new, out


def make_qn_chunk(tr, n: int, phase) -> Callable:
    """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, metrics) of `n` quasi-Newton steps.

    The batch is the kept one (``carry["batch"]``, or the fixed points); ``out["loss"]`` holds every
    step's loss, the other metrics are those after the last step, and ``out["linesearch_evals"]``
    counts the line search's function evaluations.
    """
    qn = phase.optimizer

    def run(carry, start, base_key, ta, tb, ic_values):
        batch = carry["batch"] if "batch" in carry else tr._batch(start, base_key, ta, tb, ic_values)
        weights = carry["weights"]

        def body(c, _):
            theta, opt, rba = c
            f = lambda th: tr.weighted_loss(th, batch, ta, weights, rba)[0]  # noqa: E731  (this batch's loss)
            if rba is None:
                value, grad = optax.value_and_grad_from_state(f)(theta, state=opt)
            else:
                (value, (_, aux)), grad = jax.value_and_grad(tr.weighted_loss, has_aux=True)(
                    theta, batch, ta, weights, rba)
            updates, opt = qn.update(grad, opt, theta, value=value, grad=grad, value_fn=f)
            if rba is not None:
                rba = optim.rba_update(rba, aux["residual"])
            evals = optax.tree_utils.tree_get(opt, "num_linesearch_steps", 0)
            return (optax.apply_updates(theta, updates), opt, rba), (value, evals)

        (theta, opt, rba), (values, evals) = jax.lax.scan(body, (carry["theta"], carry["opt"], carry.get("rba")),
                                                          None, length=n)
        return _chunk_end(tr, carry, (theta, opt, rba), batch, ta, values,
                          linesearch_evals=jnp.broadcast_to(jnp.sum(evals), (n,)))

    return jax.jit(run)


def make_gn_chunk(tr, n: int, phase) -> Callable:
    """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, metrics) of `n` Gauss-Newton iterations.

    The batch is the kept one; each iteration forms the weighted residual vector and (dense solver) its
    Jacobian (`pinns.residuals`), and the `pinns.optim.levenberg_marquardt` update tries damped steps on the
    same batch until one lowers the loss. Per iteration, ``out`` holds the loss before the step, the damping
    lam after it, the gain ratio, whether it was accepted, the trials and the CG iterations.
    """
    from .residuals import residual_jacobian, residual_vector

    lm, dense = phase.optimizer, phase.name != "lm_cg"

    def run(carry, start, base_key, ta, tb, ic_values):
        batch = carry["batch"] if "batch" in carry else tr._batch(start, base_key, ta, tb, ic_values)
        weights = carry["weights"]

        def body(c, _):
            theta, opt, rba = c
            f = lambda th: residual_vector(tr, th, batch, ta, weights, rba)  # noqa: E731  (this batch's residuals)
            if dense:
                r, jac, raw = residual_jacobian(tr, theta, batch, ta, weights, rba)
            else:
                r, jac = f(theta), None
                raw = None if rba is None else tr.block_errors(theta, batch, ta)[0][0]  # the RBA update only
            updates, opt = lm.update(theta, opt, theta, residual_fn=f, residuals=r, jacobian=jac)
            if rba is not None:
                rba = optim.rba_update(rba, raw)
            per_step = (jnp.dot(r, r), opt.damping, opt.rho, opt.accepted, opt.tries, opt.cg_iters)
            return (optax.apply_updates(theta, updates), opt, rba), per_step

        (theta, opt, rba), (values, lam, rho, accepted, tries, cg) = jax.lax.scan(
            body, (carry["theta"], carry["opt"], carry.get("rba")), None, length=n)
        return _chunk_end(tr, carry, (theta, opt, rba), batch, ta, values, damping=lam, gain_ratio=rho,
                          accepted=accepted, trials=tries, cg_iters=cg)

    return jax.jit(run)


def make_chunk(tr, n: int, phase=None) -> Callable:
    """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, per-step metrics stacked) of `n` steps."""
    step_fn = make_step(tr, phase)

    def run(carry, start, base_key, ta, tb, ic_values):
        steps = start + jnp.arange(n, dtype=jnp.int32)
        # fixed points: the one draw, made once per chunk instead of once per step (same values)
        fixed = tr._batch(start, base_key, ta, tb, ic_values) if tr.cfg.fixed_points and "batch" not in carry else None
        body = lambda c, s: step_fn(c, s, base_key, ta, tb, ic_values, fixed)  # noqa: E731
        return jax.lax.scan(body, carry, steps)

    return jax.jit(run)


def make_refresh(tr) -> Callable:
    """jit: (carry, step, base_key, ta, tb, ic_values) -> carry with the weights refreshed on `step`'s batch."""

    def refresh(carry, step, base_key, ta, tb, ic_values):
        batch = tr._batch(step, base_key, ta, tb, ic_values)
        return {**carry, "weights": tr.gradnorm_update(carry["theta"], batch, ta, carry["weights"])}

    return jax.jit(refresh)


__all__ = ["make_chunk", "make_gn_chunk", "make_qn_chunk", "make_refresh", "make_step"]
