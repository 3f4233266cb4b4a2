"""Multi-loss balancing baselines as one optax-style wrapper (AutoBalance paper, Table 1).

Every rule here reduces n per-term gradients g_1..g_n to *weights* w (n,), and the update
direction is d = Σ_i w_i g_i, which goes through an ordinary inner optimizer (Adam, AdamW,
SOAP, ...). That covers both families:

- loss weighting: equal weights (EW), grad-norm weighting, NTK-trace weighting, DWA;
- gradient surgery: PCGrad, IMTL-G, ConFIG and MGDA produce directions that are linear
  combinations of the g_i, so they are computed from the (n, n) Gram matrix M_ij = <g_i, g_j>
  alone: no flattening or copying of the parameter vector, n(n+1)/2 dot products per step.

The wrapper :func:`balance` is modelled on optax's ``Aggregator`` (many gradients in, one update
out) and ``apply_if_finite`` (an ``inner_state``); the weights of the last call sit in the state
for logging. Each rule is a small pure function of arrays, chosen by name from :data:`RULES`.

Libraries checked (none used): ``conflictfree`` (ConFIG's official package: ConFIG, PCGrad,
IMTL-G operators), ``LibMTL`` (PCGrad, IMTL, MGDA, DWA, GradNorm, ...) and ``torchjd`` (Jacobian
descent aggregators: UPGrad, MGDA, PCGrad, IMTL-G, ...) are all PyTorch-only; ``jaxopt`` (JAX)
has QP solvers and simplex projections but is no longer developed. The formulas below follow
conflictfree's operators for PCGrad (fixed order, each projection against the *original* g_j),
IMTL-G (its direction, computed from the unit-gradient Gram matrix so that float32 keeps a tiny
weight) and ConFIG (least-squares direction, projection length); MGDA is solved exactly (closed
form for two terms, active-set enumeration for up to 12), on the raw gradients (no normalisation).

References:
  Wang, Teng & Perdikaris (2021), grad-norm weighting for PINNs; Wang, Yu & Perdikaris (2022),
  NTK weights; Liu, Johns & Davison (2019), DWA; Yu et al. (2020), PCGrad; Liu et al. (2021),
  IMTL; Liu et al. (2024), ConFIG; Désidéri (2012), Sener & Koltun (2018), MGDA.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pinns.optim._alignment import tree_gram
from pinns.optim._autobalance import autobalance

__all__ = [
    "BalanceState",
    "RuleInputs",
    "Rule",
    "RULES",
    "BALANCERS",
    "balance",
    "combine",
    "refresh_weights",
    "equal_weights",
    "grad_norm_weights",
    "ntk_weights",
    "dwa_weights",
    "pcgrad_weights",
    "imtlg_weights",
    "config_weights",
    "mgda_weights",
    "ntk_trace",
]

_MGDA_MAX_TERMS = 12


# ------------------------------------------------------------------------------------------
# Pure rules: arrays in, weights (n,) out.
# ------------------------------------------------------------------------------------------
def _safe_inv(x: jax.Array) -> jax.Array:
    """1/x where x > 0, else 0."""
    return jnp.where(x > 0, 1.0 / jnp.where(x > 0, x, 1.0), 0.0)


def _norms(gram: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.clip(jnp.diagonal(gram), 0.0))


def equal_weights(n: int, dtype=jnp.float32) -> jax.Array:
    """EW: w_i = 1 (the plain sum of the loss terms)."""
    return jnp.ones((n,), dtype)


def grad_norm_weights(norms: jax.Array) -> jax.Array:
    """Grad-norm weighting: λ_i = Σ_j ‖∇L_j‖ / ‖∇L_i‖, so every λ_i ‖∇L_i‖ = Σ_j ‖∇L_j‖.

    Zero-gradient convention (the same for every ratio rule here, `ntk_weights` included): a term
    whose scale vanishes, ‖∇L_i‖ <= 1e-12 Σ_j ‖∇L_j‖ (e.g. the continuity residual of an initially
    zero velocity), carries no information and keeps weight 1, the unweighted loss, instead of an
    overflowing ratio (inf · 0 = nan in the loss). All scales zero: all weights 1.

    Args:
      norms: (n,) gradient norms ‖∇L_i‖ (or any positive per-term scales, e.g. NTK traces).
    """
    total = jnp.sum(norms)
    alive = norms > 1e-12 * total
    return jnp.where(alive, total / jnp.where(alive, norms, 1.0), 1.0)


def ntk_weights(traces: jax.Array) -> jax.Array:
    """NTK weights: λ_i = Σ_j tr(K_j) / tr(K_i), with tr(K_i) the trace of term i's NTK block.

    The ratio rule of :func:`grad_norm_weights` on the traces, under its zero convention (a
    vanishing trace keeps weight 1).

    Args:
      traces: (n,) NTK traces (see :func:`ntk_trace`).
    """
    return grad_norm_weights(traces)


def dwa_weights(losses: jax.Array, prev_losses: jax.Array, temperature: float = 2.0) -> jax.Array:
    """Dynamic weight average: w_i = n softmax_i(r / T), r_i = L_i(now) / L_i(previous).

    Args:
      losses: (n,) current loss values.
      prev_losses: (n,) loss values at the previous call.
      temperature: T (2 in Liu et al. 2019).
    """
    n = losses.shape[0]
    r = losses * _safe_inv(prev_losses)
    return n * jax.nn.softmax(r / temperature)


def pcgrad_weights(gram: jax.Array) -> jax.Array:
    """PCGrad (gradient surgery) as weights on the original gradients.

    For each i, g_i' starts as g_i; for j = 1..n (j ≠ i, fixed order), if g_i'·g_j < 0 then
    g_i' ← g_i' − (g_i'·g_j / ‖g_j‖²) g_j. The direction is Σ_i g_i'. (The paper draws the order
    of j at random; with two terms the order does not matter.) Every g_i' is tracked as a row of
    coefficients C (g_i' = Σ_k C_ik g_k), so only the Gram matrix is needed.

    Args:
      gram: (n, n) Gram matrix of the gradients.

    Returns:
      (n,) weights w with Σ_i g_i' = Σ_k w_k g_k.
    """
    n = gram.shape[0]
    sq = jnp.diagonal(gram)
    coef = jnp.eye(n, dtype=gram.dtype)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dot = coef[i] @ gram[:, j]
            step = jnp.where(dot < 0, dot * _safe_inv(sq[j]), 0.0)
            coef = coef.at[i, j].add(-step)
    return jnp.sum(coef, axis=0)


def imtlg_weights(gram: jax.Array) -> jax.Array:
    """IMTL-G: the combination d = Σ α_i g_i, Σ α_i = 1, with equal projections d·u_i on all
    unit gradients u_i = g_i/‖g_i‖.

    The equal-projection direction in the span of the u_i is d ∝ Σ_j β_j u_j with β = (U Uᵀ)⁺ 1
    (U Uᵀ the Gram matrix of the unit gradients), so α_i ∝ β_i / ‖g_i‖, normalised to sum 1. This
    is the direction of the reference formula (α_{2:n} = g_1 Uᵀ (D Uᵀ)⁺ with D = [g_1 − g_i], U =
    [u_1 − u_i], α_1 = 1 − Σ α_{2:n}), computed without its cancellation: when ‖g_1‖ is 10^7 times
    another gradient, α_1 ≈ 10^-7 is lost in float32's 1 − Σ α_{2:n} and the first term drops out
    of the direction (measured on the Helmholtz problem, where the residual gradient is that large).

    Args:
      gram: (n, n) Gram matrix of the gradients.
    """
    n = gram.shape[0]
    if n == 1:
        return jnp.ones((1,), gram.dtype)
    inv = _safe_inv(_norms(gram))
    unit_gram = gram * inv[:, None] * inv[None, :]
    alpha = (jnp.linalg.pinv(unit_gram) @ jnp.ones(n, gram.dtype)) * inv
    return alpha * _safe_inv(jnp.sum(alpha))


def config_weights(gram: jax.Array) -> jax.Array:
    """ConFIG: a direction with the same positive cosine to every gradient.

    g_v is the least-squares (minimum-norm) solution of u_i·g_v = 1 for all i (u_i the unit
    gradients), and the update is g_c = (Σ_i g_i·ĝ_v) ĝ_v with ĝ_v = g_v/‖g_v‖ (conflictfree's
    default ``ProjectionLength``). With g_v = Σ_j c_j u_j, c = (U Uᵀ)⁺ 1.

    Args:
      gram: (n, n) Gram matrix of the gradients.
    """
    norms = _norms(gram)
    inv = _safe_inv(norms)
    unit_gram = gram * inv[:, None] * inv[None, :]
    c = jnp.linalg.pinv(unit_gram) @ jnp.ones(gram.shape[0], gram.dtype)
    uc = unit_gram @ c  # u_i · g_v
    gv_norm = jnp.sqrt(jnp.clip(c @ uc, 0.0))
    length = jnp.sum(norms * uc) * _safe_inv(gv_norm)  # Σ_i g_i · ĝ_v
    return length * _safe_inv(gv_norm) * c * inv


def _mgda_two(gram: jax.Array) -> jax.Array:
    a, b, c = gram[0, 0], gram[1, 1], gram[0, 1]
    den = a + b - 2.0 * c
    gamma = jnp.where(den > 0, jnp.clip((b - c) / jnp.where(den > 0, den, 1.0), 0.0, 1.0), 0.5)
    return jnp.stack([gamma, 1.0 - gamma])


def mgda_weights(gram: jax.Array) -> jax.Array:
    """MGDA: the minimum-norm point of the convex hull of the gradients.

    w = argmin_{w ≥ 0, Σw = 1} wᵀ M w. Two terms: w_1 = clip((M_22 − M_12)/(M_11 + M_22 − 2M_12),
    0, 1). More terms (up to 12): exact, by enumerating the supports S: on each, the KKT system
    [[M_SS, 1], [1ᵀ, 0]] of the equality-constrained problem is solved (pseudo-inverse, so
    duplicate gradients are fine), the result is clipped to the simplex, and the candidate with
    the least norm wins (the optimum is the KKT point of its own support, so it is a candidate).

    Args:
      gram: (n, n) Gram matrix of the gradients.

    Raises:
      ValueError: more than 12 terms.
    """
    n = gram.shape[0]
    if n == 1:
        return jnp.ones((1,), gram.dtype)
    scale = jnp.max(jnp.diagonal(gram))
    gram = gram * _safe_inv(scale)  # the minimiser is invariant to scaling
    if n == 2:
        return _mgda_two(gram)
    if n > _MGDA_MAX_TERMS:
        raise ValueError(f"mgda_weights supports up to {_MGDA_MAX_TERMS} terms, got {n}")
    masks = np.array(
        [m for m in itertools.product([0.0, 1.0], repeat=n) if any(m)], dtype=np.float64
    )  # (2^n - 1, n), static
    masks = jnp.asarray(masks, gram.dtype)
    both = masks[:, :, None] * masks[:, None, :]
    eye = jnp.eye(n, dtype=gram.dtype)
    top = both * gram + (1.0 - masks)[:, :, None] * eye  # rows/cols outside S: w_i = 0
    kkt = jnp.concatenate(
        [
            jnp.concatenate([top, masks[:, :, None]], axis=2),
            jnp.concatenate([masks[:, None, :], jnp.zeros((masks.shape[0], 1, 1), gram.dtype)], axis=2),
        ],
        axis=1,
    )
    rhs = jnp.concatenate([jnp.zeros(n, gram.dtype), jnp.ones(1, gram.dtype)])
    sol = jnp.einsum("kij,j->ki", jnp.linalg.pinv(kkt), rhs)[:, :n] * masks
    w = jnp.clip(sol, 0.0)
    total = jnp.sum(w, axis=1, keepdims=True)
    w = jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), masks / jnp.sum(masks, 1, keepdims=True))
    obj = jnp.einsum("ki,ij,kj->k", w, gram, w)
    return w[jnp.argmin(obj)]


def ntk_trace(point_fn: Callable[..., jax.Array], params: Any, points: Any, *, per_output: bool = False) -> jax.Array:
    """Mean NTK diagonal of one loss term: (1/N) Σ_x ‖∂f(x)/∂θ‖².

    Args:
      point_fn: ``point_fn(params, x) -> scalar or (k,)``: the network output (for data/boundary
        terms) or the PDE residual (for the residual term) at one point x. For a (k,) output every
        component is one error of the term (per-example Jacobians, `jax.jacrev`).
      params: the parameter pytree.
      points: (N, d) points, or a tuple of arrays with N rows (point and target). Memory is
        N × (number of parameters): pass a subsample.
      per_output: with a (k,) output, return the k traces of the components (one loss term each)
        instead of their mean (one loss term over all components).

    Returns:
      Scalar trace estimate, or (k,) with ``per_output`` (the weights only use ratios, so the mean
      is as good as the sum).
    """
    first = jax.tree.map(lambda a: a[0], points)
    if jax.eval_shape(point_fn, params, first).ndim == 0:
        per_point = jax.vmap(jax.grad(point_fn), in_axes=(None, 0))(params, points)
        sq = sum(jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=1) for x in jax.tree.leaves(per_point))
        return jnp.mean(sq)
    jac = jax.vmap(jax.jacrev(point_fn), (None, 0))(params, points)
    sq = sum(jnp.sum(g.reshape(g.shape[0], g.shape[1], -1) ** 2, axis=2) for g in jax.tree.leaves(jac))  # (N, k)
    return jnp.mean(sq, axis=0) if per_output else jnp.mean(sq)


# ------------------------------------------------------------------------------------------
# Rule table and wrapper.
# ------------------------------------------------------------------------------------------
class RuleInputs(NamedTuple):
    """What a rule may look at (fields a rule does not need may be ``None``).

    Attributes:
      gram: (n, n) Gram matrix of the per-term gradients, or None if the rule does not need it.
      losses: (n,) current loss values, or None.
      prev_losses: (n,) loss values of the previous call (zeros before the first).
      ntk_traces: (n,) NTK traces, or None.
      count: int32 number of previous calls.
      norms: (n,) per-term gradient norms when the caller has them (the trainer's refresh path);
        None: read off ``gram``.
    """

    gram: Optional[jax.Array]
    losses: Optional[jax.Array]
    prev_losses: jax.Array
    ntk_traces: Optional[jax.Array]
    count: jax.Array
    norms: Optional[jax.Array] = None


class Rule(NamedTuple):
    """A balancing rule: how to get weights, and how often / how smoothly to refresh them.

    Attributes:
      weights: ``RuleInputs -> (n,) weights``.
      update_every: recompute the weights when ``count % update_every == 0``; keep them otherwise.
      momentum: on a recompute, w ← momentum·w + (1 − momentum)·w_new (w starts at ones).
      needs: names of the inputs the rule reads, among "gram", "losses", "ntk_traces".
    """

    weights: Callable[[RuleInputs], jax.Array]
    update_every: int = 1
    momentum: float = 0.0
    needs: tuple = ("gram",)


def _dwa_rule(x: RuleInputs) -> jax.Array:
    n = x.losses.shape[0]
    return jnp.where(x.count >= 1, dwa_weights(x.losses, x.prev_losses), jnp.ones(n, x.losses.dtype))


RULES: dict[str, Rule] = {
    "equal": Rule(lambda x: jnp.ones(x.prev_losses.shape, x.prev_losses.dtype), needs=()),
    # docs/design.md section 7: recomputed every 1000 steps, running average 0.9 / 0.1.
    "gradnorm": Rule(lambda x: grad_norm_weights(_norms(x.gram) if x.norms is None else x.norms),
                     update_every=1000, momentum=0.9),
    "ntk": Rule(lambda x: ntk_weights(x.ntk_traces), update_every=1000, momentum=0.9, needs=("ntk_traces",)),
    "dwa": Rule(_dwa_rule, needs=("losses",)),
    "pcgrad": Rule(lambda x: pcgrad_weights(x.gram)),
    "imtlg": Rule(lambda x: imtlg_weights(x.gram)),
    "config": Rule(lambda x: config_weights(x.gram)),
    "mgda": Rule(lambda x: mgda_weights(x.gram)),
}


class BalanceState(NamedTuple):
    """State of :func:`balance`.

    Attributes:
      count: int32, number of update calls so far.
      weights: (n,) the weights used by the last call (ones before the first): log these.
      prev_losses: (n,) the losses passed at the last call (zeros if none were passed).
      inner_state: state of the inner optimizer.
    """

    count: jax.Array
    weights: jax.Array
    prev_losses: jax.Array
    inner_state: optax.OptState


def refresh_weights(rule: Union[str, Rule], weights: jax.Array, inputs: RuleInputs,
                    momentum: Optional[float] = None) -> jax.Array:
    """One refresh of a rule's weights: w ← m·w + (1 − m)·w_new, w_new = ``rule.weights(inputs)``.

    The refresh hook shared by :func:`balance` (every ``update_every`` calls) and the trainer's
    "refresh every k steps" mode (`pinns.trainer.Trainer.gradnorm_update`, between step chunks), so
    any rule can run either way. No gradient flows through the new weights; ``m = 0`` takes them as
    they are.

    Args:
      rule: a name in :data:`RULES` or a :class:`Rule`.
      weights: (n,) current weights (their dtype is kept).
      inputs: what the rule reads (:class:`RuleInputs`).
      momentum: override the rule's running-average factor m.
    """
    rule = _rule(rule)
    mom = rule.momentum if momentum is None else float(momentum)
    new = jax.lax.stop_gradient(rule.weights(inputs)).astype(weights.dtype)
    return new if mom == 0.0 else mom * weights + (1.0 - mom) * new


def _rule(rule: Union[str, Rule]) -> Rule:
    if isinstance(rule, str):
        if rule not in RULES:
            raise KeyError(f"unknown balancing rule {rule!r}; known: {sorted(RULES)}")
        return RULES[rule]
    return rule


def combine(grads_seq: Sequence[Any], weights: jax.Array) -> Any:
    """Σ_i w_i g_i over n gradient pytrees (weights cast to each leaf's dtype)."""
    return jax.tree.map(
        lambda *xs: sum(weights[i].astype(x.dtype) * x for i, x in enumerate(xs)), *grads_seq
    )


def balance(
    rule: Union[str, Rule],
    inner: optax.GradientTransformation,
    n_terms: int,
    *,
    update_every: Optional[int] = None,
    momentum: Optional[float] = None,
) -> optax.GradientTransformationExtraArgs:
    """Weight (or operate on) per-term gradients by a rule, then step with an inner optimizer.

    ``update(grads_seq, state, params=None, *, losses=None, ntk_traces=None, **extra)`` takes a
    sequence of ``n_terms`` gradient pytrees, computes weights w (see the rule), forms
    d = Σ_i w_i g_i and returns ``inner.update(d, inner_state, params, **extra)``.

    Args:
      rule: a name in :data:`RULES` ("equal", "gradnorm", "ntk", "dwa", "pcgrad", "imtlg",
        "config", "mgda") or a :class:`Rule`.
      inner: the optimizer that receives the combined gradient.
      n_terms: number of loss terms.
      update_every: override the rule's refresh period (gradnorm, ntk: 1000).
      momentum: override the rule's running-average factor (gradnorm, ntk: 0.9).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with state :class:`BalanceState`. ``losses``
      is required by "dwa", ``ntk_traces`` by "ntk".

    Raises:
      KeyError: unknown rule name. ValueError: wrong number of gradients or a missing input.
    """
    rule = _rule(rule)
    every = rule.update_every if update_every is None else int(update_every)
    mom = rule.momentum if momentum is None else float(momentum)
    if every < 1:
        raise ValueError(f"update_every must be >= 1, got {every}")
    inner = optax.with_extra_args_support(inner)

    def init_fn(params):
        leaves = jax.tree.leaves(params)
        dtype = jnp.result_type(*leaves) if leaves else jnp.float32
        return BalanceState(
            count=jnp.zeros([], jnp.int32),
            weights=jnp.ones((n_terms,), dtype),
            prev_losses=jnp.zeros((n_terms,), dtype),
            inner_state=inner.init(params),
        )

    def update_fn(grads_seq, state, params=None, *, losses=None, ntk_traces=None, **extra):
        if len(grads_seq) != n_terms:
            raise ValueError(f"expected {n_terms} per-term gradients, got {len(grads_seq)}")
        for name, value in (("losses", losses), ("ntk_traces", ntk_traces)):
            if name in rule.needs and value is None:
                raise ValueError(f"this balancing rule needs `{name}=` in update()")
        dtype = state.weights.dtype
        inputs = RuleInputs(
            gram=tree_gram(grads_seq) if "gram" in rule.needs else None,
            losses=None if losses is None else jnp.asarray(losses, dtype),
            prev_losses=state.prev_losses,
            ntk_traces=None if ntk_traces is None else jnp.asarray(ntk_traces, dtype),
            count=state.count,
        )

        def refresh(_):
            return refresh_weights(rule, state.weights, inputs, mom)

        if every == 1:
            weights = refresh(None)
        else:
            weights = jax.lax.cond(state.count % every == 0, refresh, lambda _: state.weights, None)
        direction = combine(grads_seq, weights)
        updates, inner_state = inner.update(direction, state.inner_state, params, **extra)
        prev = state.prev_losses if losses is None else jnp.asarray(losses, dtype)
        return updates, BalanceState(
            count=optax.safe_increment(state.count),
            weights=weights,
            prev_losses=prev,
            inner_state=inner_state,
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _balancer(name: str) -> Callable[..., optax.GradientTransformationExtraArgs]:
    def make(make_opt: Callable[[], optax.GradientTransformation], n_terms: int, **kwargs):
        return balance(name, make_opt(), n_terms, **kwargs)

    make.__name__ = make.__qualname__ = f"balance_{name}"
    make.__doc__ = f"``balance({name!r}, make_opt(), n_terms, **kwargs)`` (see :func:`balance`)."
    return make


BALANCERS: dict[str, Callable[..., Any]] = {
    "autobalance": autobalance,
    **{name: _balancer(name) for name in RULES},
}
"""Every multi-term method under one contract, ``BALANCERS[name](make_opt, n_terms)``: the result's
``update(grads_seq, state, params)`` takes the per-term gradients (DWA also needs ``losses=``, NTK
``ntk_traces=``). Put decoupled weight decay in ``make_opt`` for the rules (one inner optimizer),
but not for ``"autobalance"`` (n inner optimizers): use ``auto_adamw`` / ``auto_soap`` there."""
