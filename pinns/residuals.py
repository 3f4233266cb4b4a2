"""The loss of a `pinns.trainer.Trainer` as one weighted residual vector, and its Jacobian (Gauss-Newton phases).

The weighted loss is ``sum_i w_i L_i`` with mean-square terms ``L_i = mean over the N_i points of e^2``; scaling
each row of term i by ``sqrt(w_i / N_i)`` (and each residual row by its point's RBA weight) gives one vector r with
``|r|^2`` equal to that loss. The errors come from `Trainer.block_errors`, the same function `Trainer.term_losses`
squares, so the loss the first-order and quasi-Newton optimizers see and the residuals the Gauss-Newton phases
see have one definition. Causal weights are not included (Gauss-Newton phases run without causal chunks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = ["residual_jacobian", "residual_vector", "row_scales"]


def row_scales(errs, weights) -> list:
    """Per-block (k,) row scalings sqrt(w / N) of the blocks ``[(errors (N, k), split)]`` and term `weights`.

    A split block (residual equations, initial-data fields) is k terms, one per column; any other block is one
    term averaged over all N k entries.
    """
    scales, term = [], 0
    for e, split in errs:
        n, k = e.shape
        if split:
            scales.append(jnp.sqrt(weights[term:term + k] / n))
            term += k
        else:
            scales.append(jnp.full((k,), jnp.sqrt(weights[term] / (n * k)), e.dtype))
            term += 1
    return scales


def _stack(errs, scales):
    return jnp.concatenate([(e * s).reshape(-1) for (e, _), s in zip(errs, scales)])


def residual_vector(tr, theta, batch, ta, weights, rba=None):
    """(N,) weighted residual vector r of trainer `tr` at `theta`, ``|r|^2 = tr.weighted_loss`` (no causal weights).

    Rows: every error component of every loss block at every point (block-major, then point, then component),
    scaled by sqrt(w_i / N_i); the residual rows also by the RBA weight `rba` (B,) of their point.
    """
    errs = tr.block_errors(theta, batch, ta)
    if rba is not None:
        errs[0] = (rba[:, None] * errs[0][0], errs[0][1])
    return _stack(errs, row_scales(errs, weights))


def residual_jacobian(tr, theta, batch, ta, weights, rba=None):
    """(r (N,), J (N, P), unweighted residuals (B, n_eq)) at `theta`; J is over ``ravel_pytree(theta)``.

    One reverse pass per point (`jax.vmap` of `jax.jacrev` of the point's error): a PINN's residual is a small
    function of each point, so this costs a few forward passes of the batch, where `jax.jacfwd` of the whole
    vector costs about P of them (measured in ``scripts/bench_gauss_newton.py``).
    """
    flat, unravel = ravel_pytree(theta)
    errs, jacs = [], []
    for f, pts, split in tr.loss_blocks(batch):
        def point(x, p, f=f):
            e = f(tr.model(unravel(x), ta), p)
            return e, e

        jac, e = jax.vmap(lambda p, point=point: jax.jacrev(point, has_aux=True)(flat, p))(pts)
        errs.append((e, split))
        jacs.append(jac)  # (n, k, P)
    raw = errs[0][0]
    if rba is not None:
        errs[0], jacs[0] = (rba[:, None] * raw, errs[0][1]), rba[:, None, None] * jacs[0]
    scales = row_scales(errs, weights)
    J = jnp.concatenate([(j * s[:, None]).reshape(-1, flat.shape[0]) for j, s in zip(jacs, scales)])
    return _stack(errs, scales), J, jax.lax.stop_gradient(raw)
