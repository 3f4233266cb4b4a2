"""AutoBalance: one optimizer state per loss term, updates summed (post-combine).

Each loss term L_i has its own gradient ∇L_i and its own state of the same base optimizer (its
own Adam moments, or its own SOAP factors, bases and moments); the term's update d_i is computed
from that state alone, and the parameter update is the plain sum Σ_i d_i, with no coefficients.
Adaptive optimizers normalise each term separately, which balances terms of very different scales
without any weighting rule.

Decoupled weight decay must act once per step, not once per term. The inner optimizers are
therefore built *without* weight decay, and the decay is a separate transformation (``shared``)
applied once to the summed update: ``auto_adamw`` decays the current parameters (AdamW's
convention, p ← p + Σ d_i − lr·wd·p); ``auto_soap`` decays the updated ones (the SOAP reference's
convention, p ← (p + Σ d_i)(1 − lr·wd), skipped on SOAP's first call, which makes no update).

References:
  "AutoBalance" (papers/autobalance.txt): one adaptive optimizer per loss term, updates summed.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import optax

from pinns.optim._soap import decoupled_weight_decay, soap

__all__ = [
    "AutoBalanceState",
    "autobalance",
    "auto_adam",
    "auto_adamw",
    "auto_soap",
    "per_term_grads",
    "term_jacobian",
    "block_term_grads",
    "jacobian_norms",
]

ScalarOrSchedule = Union[float, jax.Array, optax.Schedule]


class AutoBalanceState(NamedTuple):
    """State of :func:`autobalance`.

    Attributes:
      inner_states: tuple of ``n_terms`` independent states of ``make_opt()``, one per loss term.
      shared_state: state of the ``shared`` transformation applied once to the sum (weight decay),
        ``optax.EmptyState()`` when there is none.
    """

    inner_states: tuple
    shared_state: optax.OptState


def autobalance(
    make_opt: Callable[[], optax.GradientTransformation],
    n_terms: int,
    *,
    shared: Optional[optax.GradientTransformation] = None,
) -> optax.GradientTransformation:
    """Run one independent optimizer per loss term and sum their updates.

    ``update(grads_seq, state, params=None)`` takes a sequence of ``n_terms`` gradient pytrees
    (one per loss term, each with the params' structure; :func:`per_term_grads` makes them in one
    pass) and returns ``Σ_i d_i`` where ``d_i, s_i = make_opt().update(grads_seq[i], s_i, params)``,
    then passes that sum once through ``shared`` if given.

    Args:
      make_opt: builds the base optax transformation (called ``n_terms`` times, one per term).
        Give it *no* weight decay; put decoupled weight decay in ``shared`` so it acts once.
      n_terms: number of loss terms.
      shared: optional transformation applied once to the summed update, with ``params``
        (e.g. :func:`pinns.optim.decoupled_weight_decay`).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` takes a *sequence* of gradients
      instead of one gradient tree; its state is :class:`AutoBalanceState`. With one term and no
      ``shared`` it is the base optimizer.

    Raises:
      ValueError: ``n_terms < 1``, or ``update`` given a sequence of another length.
    """
    if n_terms < 1:
        raise ValueError(f"n_terms must be >= 1, got {n_terms}")
    inners = tuple(make_opt() for _ in range(n_terms))
    shared_tx = shared if shared is not None else optax.identity()

    def init_fn(params):
        return AutoBalanceState(
            inner_states=tuple(tx.init(params) for tx in inners),
            shared_state=shared_tx.init(params),
        )

    def update_fn(grads_seq: Sequence[Any], state: AutoBalanceState, params=None):
        if len(grads_seq) != n_terms:
            raise ValueError(f"expected {n_terms} per-term gradients, got {len(grads_seq)}")
        total, new_states = None, []
        for tx, g, s in zip(inners, grads_seq, state.inner_states):
            d, s = tx.update(g, s, params)
            total = d if total is None else jax.tree.map(jnp.add, total, d)
            new_states.append(s)
        total, shared_state = shared_tx.update(total, state.shared_state, params)
        return total, AutoBalanceState(inner_states=tuple(new_states), shared_state=shared_state)

    return optax.GradientTransformation(init_fn, update_fn)


def auto_adam(
    learning_rate: ScalarOrSchedule,
    n_terms: int,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> optax.GradientTransformation:
    """Auto-Adam: :func:`autobalance` over ``optax.adam`` (arguments as there)."""
    return autobalance(lambda: optax.adam(learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root), n_terms)


def auto_adamw(
    learning_rate: ScalarOrSchedule,
    n_terms: int,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    eps_root: float = 0.0,
) -> optax.GradientTransformation:
    """Auto-AdamW: per-term ``optax.adam`` states, AdamW's decoupled decay applied once.

    p ← p + Σ_i d_i − lr·wd·p, so with one term it equals ``optax.adamw`` (same defaults).
    """
    return autobalance(
        lambda: optax.adam(learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        n_terms,
        shared=(
            decoupled_weight_decay(learning_rate, weight_decay, after_step=False)
            if weight_decay
            else None
        ),
    )


def auto_soap(
    learning_rate: ScalarOrSchedule,
    n_terms: int,
    b1: float = 0.95,
    b2: float = 0.95,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    precondition_frequency: int = 10,
    max_precond_dim: int = 10000,
    precondition_1d: bool = False,
) -> optax.GradientTransformation:
    """Auto-SOAP: per-term :func:`pinns.optim.soap` states (no decay), decay applied once.

    p ← (p + Σ_i d_i)(1 − lr·wd), the SOAP reference's decay of the updated parameters, skipped on
    the first call; with one term it equals ``soap(...)`` with the same arguments.
    """

    def make():
        return soap(
            learning_rate,
            b1=b1,
            b2=b2,
            eps=eps,
            weight_decay=0.0,
            precondition_frequency=precondition_frequency,
            max_precond_dim=max_precond_dim,
            precondition_1d=precondition_1d,
        )

    return autobalance(
        make,
        n_terms,
        shared=(
            decoupled_weight_decay(learning_rate, weight_decay, after_step=True, skip_first=True)
            if weight_decay
            else None
        ),
    )


def term_jacobian(loss_terms_fn: Callable[..., Any], params: Any, *args: Any, has_aux: bool = False,
                  **kwargs: Any) -> tuple:
    """The Jacobian of a vector of loss terms in one `jax.jacrev` pass, stacked.

    Args:
      loss_terms_fn: ``loss_terms_fn(params, *args, **kwargs) -> (n_terms,)`` array of loss terms,
        or ``(terms, aux)`` with ``has_aux``.
      params: the parameter pytree.
      *args, **kwargs: passed on to ``loss_terms_fn`` (not differentiated).

    Returns:
      ``(jac, values, aux)``: ``jac`` a pytree like ``params`` whose leaves have a leading axis of
      n_terms (row i: ∇L_i), ``values`` the (n_terms,) terms, ``aux`` (None without ``has_aux``).
    """

    def f(p):
        out = loss_terms_fn(p, *args, **kwargs)
        v, aux = out if has_aux else (out, None)
        return v, (v, aux)

    jac, (values, aux) = jax.jacrev(f, has_aux=True)(params)
    return jac, values, aux


def block_term_grads(block_fns: Sequence[Callable[..., Any]], params: Any, *args: Any) -> tuple:
    """Per-term gradients with each block of loss terms differentiated on its own.

    `term_jacobian` differentiates the whole loss vector at once; its reverse pass then carries
    every term's cotangent through every block (the residual's costly backward pass runs once per
    term, with zero cotangents for the other terms, and XLA does not remove it). Here block b's
    terms get a reverse pass through block b alone: one `jax.value_and_grad` for a block of one
    term, one `jax.jacrev` for a block of several. Same gradients up to the summation order.

    Args:
      block_fns: ``f_b(params, *args) -> (terms_b (k_b,), aux_b)``, one per block, in term order.
      params: the parameter pytree.
      *args: passed on to every block (not differentiated).

    Returns:
      ``(grads, values, auxes)``: a list of sum_b k_b gradient pytrees (params' structure), the
      concatenated (sum_b k_b,) terms, and the list of the blocks' ``aux_b``.
    """
    grads, values, auxes = [], [], []
    for f in block_fns:
        k = jax.eval_shape(lambda p: f(p, *args)[0], params).shape[0]
        if k == 1:
            (_, (v, aux)), g = jax.value_and_grad(lambda p: (lambda o: (o[0][0], o))(f(p, *args)),
                                                  has_aux=True)(params)
            grads.append(g)
        else:
            jac, v, aux = term_jacobian(f, params, *args, has_aux=True)
            grads += [jax.tree.map(lambda x, i=i: x[i], jac) for i in range(k)]
        values.append(v)
        auxes.append(aux)
    return grads, jnp.concatenate(values), auxes


def jacobian_norms(jac: Any) -> jax.Array:
    """(n_terms,) norms ‖∇L_i‖ of the rows of a stacked Jacobian (see :func:`term_jacobian`)."""
    leaves = jax.tree.leaves(jac)
    n = leaves[0].shape[0]
    return jnp.sqrt(sum(jnp.sum(g.reshape(n, -1) ** 2, axis=1) for g in leaves))


def per_term_grads(
    loss_terms_fn: Callable[..., jax.Array], params: Any, *args: Any, **kwargs: Any
) -> tuple[jax.Array, tuple]:
    """Evaluate a vector of loss terms and the gradient of each term in one pass.

    Args:
      loss_terms_fn: ``loss_terms_fn(params, *args, **kwargs) -> (n_terms,)`` array of loss terms.
      params: the parameter pytree.
      *args, **kwargs: passed on to ``loss_terms_fn`` (not differentiated).

    Returns:
      ``(values, grads)``: ``values`` the (n_terms,) loss terms, ``grads`` a tuple of n_terms
      pytrees with the params' structure (``jax.jacrev``: one forward pass, n_terms vector-Jacobian
      products batched together).
    """

    jac, values, _ = term_jacobian(loss_terms_fn, params, *args, **kwargs)
    if values.ndim != 1:
        raise ValueError(f"loss_terms_fn must return a 1-D vector, got shape {values.shape}")
    n = values.shape[0]
    grads = tuple(jax.tree.map(lambda x, i=i: x[i], jac) for i in range(n))
    return values, grads
