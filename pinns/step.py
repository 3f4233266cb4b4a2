"""One optimisation step of a `pinns.trainer.Trainer`, and the jitted chunks of steps the run loop calls.

The step is a pure function ``step(carry, step, base_key, ta, tb, ic_values) -> (carry, out)``:

* ``carry``: ``{"theta", "opt", "weights", "prev_grad"}`` (`Trainer.init_carry`);
* ``out``: the per-step metrics ``{"loss", "terms", "weights", "inter_alignment", "causal_min"}``.

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


def make_step(tr) -> Callable:
    """The step function of trainer `tr` (not jitted: `make_chunk` scans it)."""

    def step_fn(carry, step, base_key, ta, tb, ic_values):
        batch = tr._batch(step, base_key, ta, tb, ic_values)
        theta, weights = carry["theta"], carry["weights"]
        if tr.per_term:
            raw, losses, aux = tr.per_term_grads(theta, batch, ta)
            grads = [jax.tree_util.tree_map(lambda g, i=i: weights[i] * g, raw[i]) for i in range(tr.n_terms)]
            extra = {"losses": losses} if tr.needs_losses else {}
            updates, opt = tr.optimizer.update(grads, carry["opt"], theta, **extra)
            grad = jax.tree_util.tree_map(lambda *g: sum(g), *grads)
            loss = jnp.sum(weights * losses)
        else:
            (loss, (losses, aux)), grad = jax.value_and_grad(tr.weighted_loss, has_aux=True)(
                theta, batch, ta, weights)
            updates, opt = tr.optimizer.update(grad, carry["opt"], theta)
        theta = optax.apply_updates(theta, updates)
        inter = optim.alignment_score([carry["prev_grad"], grad])
        out = {"loss": loss, "terms": losses, "weights": weights, "inter_alignment": inter,
               "causal_min": aux.get("causal_min", jnp.ones((), tr.dtype))}
        return {"theta": theta, "opt": opt, "weights": weights, "prev_grad": grad}, out

    return step_fn


def make_chunk(tr, n: int) -> Callable:
    """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, per-step metrics stacked) of `n` steps."""
    step_fn = make_step(tr)

    def run(carry, start, base_key, ta, tb, ic_values):
        steps = start + jnp.arange(n, dtype=jnp.int32)
        body = lambda c, s: step_fn(c, s, base_key, ta, tb, ic_values)  # noqa: E731
        return jax.lax.scan(body, carry, steps)

    return jax.jit(run)


def make_refresh(tr) -> Callable:
    """jit: (carry, step, base_key, ta, tb, ic_values) -> carry with the weights refreshed on `step`'s batch."""

    def refresh(carry, step, base_key, ta, tb, ic_values):
        batch = tr._batch(step, base_key, ta, tb, ic_values)
        return {**carry, "weights": tr.gradnorm_update(carry["theta"], batch, ta, carry["weights"])}

    return jax.jit(refresh)


__all__ = ["make_chunk", "make_refresh", "make_step"]
