"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner, as an optax transformation.

The semantics are those of the reference PyTorch implementation (nikhilvyas/SOAP, ``soap.py``,
the version with ``betas=(0.95, 0.95)`` defaults and the first moment kept in the rotated basis),
as pinned down in docs/design.md section 8. The code is our own; only the algorithm follows the
reference. Differences from the reference, all deliberate:

- ``merge_dims`` (reshaping >= 3-D tensors before preconditioning) is not implemented: a
  parameter with k axes gets one factor per axis, as the reference does with ``merge_dims=False``
  (its default).
- ``normalize_grads``, ``correct_bias=False``, ``data_format`` and a separate ``shampoo_beta`` in
  the public alias are not offered (``scale_by_soap`` does take ``shampoo_beta``).
- The linear algebra runs in the parameters' dtype (the reference casts factors to float32 for
  ``eigh``/``qr``); on an ``eigh`` failure we retry with a relative jitter, then fall back to the
  identity basis, instead of moving to float64 on the CPU.

References:
  Vyas et al., "SOAP: Improving and Stabilizing Shampoo using Adam", arXiv:2409.11321 (2024).
  Wang et al., "Gradient Alignment in Physics-informed Neural Networks: A Second-Order
  Optimization Perspective" (2025): SOAP for PINNs.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import optax

__all__ = [
    "SoapState",
    "DecoupledWeightDecayState",
    "scale_by_soap",
    "soap",
    "decoupled_weight_decay",
]

ScalarOrSchedule = Union[float, jax.Array, optax.Schedule]

# Added to a factor before the first eigendecomposition, as the reference does (1e-30 * I). It
# changes nothing unless the factor is exactly zero.
_EIGH_SHIFT = 1e-30
# Relative jitter (times the largest diagonal entry) for the retry after a failed eigh.
_EIGH_JITTER = 1e-6


class SoapState(NamedTuple):
    """State of :func:`scale_by_soap`.

    Attributes:
      count: int32 scalar, number of ``update`` calls made so far. The first call (``count == 0``)
        only initialises the factors and bases; the real update number ``t`` (used for bias
        correction and the refresh schedule) equals ``count`` at the time of the call.
      mu: first moment, same tree and shapes as the params, in the *rotated* basis.
      nu: second moment, same tree and shapes as the params, in the rotated basis (element-wise;
        permuted, never rotated, when a basis is refreshed).
      gg: per parameter leaf, a tuple with one entry per axis: the (d, d) Kronecker factor
        (``L`` for axis 0, ``R`` for axis 1, ...) or ``None`` where that axis is not preconditioned.
      q: per parameter leaf, the same layout as ``gg``: the (d, d) orthogonal eigenbasis, columns
        ordered by decreasing (estimated) eigenvalue, or ``None``.
    """

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    gg: Any
    q: Any


class DecoupledWeightDecayState(NamedTuple):
    """State of :func:`decoupled_weight_decay`: the number of calls made so far (int32)."""

    count: jax.Array


def _unzip(treedef, tree, n: int):
    """Split a tree whose leaves (at ``treedef``'s leaf positions) are n-tuples into n trees."""
    parts = treedef.flatten_up_to(tree)
    if not parts:
        return tuple(treedef.unflatten([]) for _ in range(n))
    return tuple(treedef.unflatten(list(x)) for x in zip(*parts))


def _preconditioned_axes(shape: Sequence[int], max_precond_dim: int, precondition_1d: bool):
    """Which axes of a parameter of this shape get a Kronecker factor (tuple of bools)."""
    if len(shape) == 0:
        return ()
    if len(shape) == 1:
        return (bool(precondition_1d) and shape[0] <= max_precond_dim,)
    return tuple(d <= max_precond_dim for d in shape)


def _rotate(x: jax.Array, qs: Sequence[Optional[jax.Array]], back: bool) -> jax.Array:
    """Apply Q_kᵀ (``back=False``, into the eigenbasis) or Q_k (``back=True``) along each axis k."""
    for axis, q in enumerate(qs):
        if q is None:
            continue
        mat = q.T if back else q
        # tensordot contracts x's `axis` with mat's rows: y[..., j] = sum_i x[.., i, ..] mat[i, j].
        x = jnp.moveaxis(jnp.tensordot(x, mat, axes=((axis,), (0,))), -1, axis)
    return x


def _accumulate(gg: Sequence[Optional[jax.Array]], g: jax.Array, beta: float):
    """gg_k <- lerp(gg_k, G_(k) G_(k)ᵀ, 1 - beta) for every preconditioned axis k."""
    out = []
    for axis, fac in enumerate(gg):
        if fac is None:
            out.append(None)
            continue
        others = tuple(i for i in range(g.ndim) if i != axis)
        outer = jnp.tensordot(g, g, axes=(others, others))
        out.append(fac + (1.0 - beta) * (outer - fac))  # torch.lerp_ form, as the reference
    return tuple(out)


def _eigh_descending(fac: jax.Array) -> jax.Array:
    """Eigenvectors of a symmetric factor, columns by decreasing eigenvalue; never NaN.

    On failure (non-finite output) retries with a jitter relative to the factor's scale, then
    falls back to the identity.
    """
    n = fac.shape[0]
    eye = jnp.eye(n, dtype=fac.dtype)
    _, vecs = jnp.linalg.eigh(fac + _EIGH_SHIFT * eye)

    def retry(_):
        scale = jnp.maximum(jnp.max(jnp.abs(jnp.diagonal(fac))), jnp.finfo(fac.dtype).tiny)
        clean = jnp.where(jnp.isfinite(fac), fac, 0.0)
        _, v2 = jnp.linalg.eigh(clean + _EIGH_JITTER * scale * eye)
        return jnp.where(jnp.all(jnp.isfinite(v2)), v2, eye)

    vecs = jax.lax.cond(jnp.all(jnp.isfinite(vecs)), lambda _: vecs, retry, None)
    return vecs[:, ::-1]


def _refresh_leaf(m, v, gg, qs):
    """One power iteration + QR per factor; move m into the new basis, permute v.

    Returns (m, v, new_qs). Columns of each old basis are first sorted by the estimated
    eigenvalue diag(Qᵀ F Q) (descending); v is permuted along that axis by the same order.
    """
    if all(q is None for q in qs):
        return m, v, qs
    m_orig = _rotate(m, qs, back=True)
    new_qs = []
    for axis, (fac, q) in enumerate(zip(gg, qs)):
        if q is None:
            new_qs.append(None)
            continue
        fq = fac @ q
        est_eig = jnp.einsum("ij,ij->j", q, fq)
        order = jnp.argsort(-est_eig)
        v = jnp.take(v, order, axis=axis)
        q_new, _ = jnp.linalg.qr(fq[:, order])
        # QR of a rank-deficient product is still orthogonal; guard only against non-finite input.
        q_new = jnp.where(jnp.all(jnp.isfinite(q_new)), q_new, q[:, order])
        new_qs.append(q_new)
    new_qs = tuple(new_qs)
    return _rotate(m_orig, new_qs, back=False), v, new_qs


def scale_by_soap(
    b1: float = 0.95,
    b2: float = 0.95,
    eps: float = 1e-8,
    precondition_frequency: int = 10,
    max_precond_dim: int = 10_000,
    *,
    precondition_1d: bool = False,
    shampoo_beta: Optional[float] = None,
) -> optax.GradientTransformation:
    """Rescale updates by SOAP: Adam run in the eigenbasis of Shampoo's Kronecker factors.

    For a 2-D leaf G (m, n): L <- b·L + (1-b)·G Gᵀ, R <- b·R + (1-b)·Gᵀ G (b = ``shampoo_beta``,
    default ``b2``); with the current eigenbases Q_L, Q_R, G' = Q_Lᵀ G Q_R,
    m <- b1·m + (1-b1)·G', v <- b2·v + (1-b2)·G'², and the output is
    ``sqrt(1 - b2^t) / (1 - b1^t) · Q_L (m / (sqrt(v) + eps)) Q_Rᵀ`` (positive: descent needs a
    negative learning rate scaling, as with ``optax.scale_by_adam``). A leaf with k axes gets one
    factor per axis; an axis longer than ``max_precond_dim`` gets none (identity basis); 1-D leaves
    get none unless ``precondition_1d``; scalars get none. A leaf without factors is plain Adam
    (with eps added before bias correction).

    Call order (the reference's): the first call only accumulates the gradient into the factors
    (from zero) and sets the bases by a full eigendecomposition; it outputs zeros and leaves the
    moments at zero. Every later call t = 1, 2, ... projects with the current bases, updates the
    moments, computes the output, then accumulates the same gradient into the factors; if
    ``t % precondition_frequency == 0`` it then refreshes the bases (one power iteration + QR,
    columns sorted by estimated eigenvalue), rotates ``mu`` into the new basis and permutes ``nu``.

    Args:
      b1: decay of the first moment (Adam's beta1).
      b2: decay of the second moment (Adam's beta2) and, by default, of the factors.
      eps: added to sqrt(v) before the bias correction is applied.
      precondition_frequency: refresh the eigenbases every this many real updates.
      max_precond_dim: axes longer than this are not preconditioned.
      precondition_1d: give 1-D leaves a (d, d) factor too (default: plain Adam for them).
      shampoo_beta: decay of the factors, if different from ``b2``.

    Returns:
      An ``optax.GradientTransformation`` with state :class:`SoapState`. It works under ``jit``
      and ``lax.scan``: the init step and the refresh are ``lax.cond`` branches on the counter.
    """
    beta_f = b2 if shampoo_beta is None else shampoo_beta
    if precondition_frequency < 1:
        raise ValueError(f"precondition_frequency must be >= 1, got {precondition_frequency}")

    def axes_of(p):
        return _preconditioned_axes(jnp.shape(p), max_precond_dim, precondition_1d)

    def init_fn(params):
        def factors(p):
            return tuple(
                jnp.zeros((d, d), dtype=p.dtype) if use else None
                for d, use in zip(jnp.shape(p), axes_of(p))
            )

        return SoapState(
            count=jnp.zeros([], jnp.int32),
            mu=jax.tree.map(jnp.zeros_like, params),
            nu=jax.tree.map(jnp.zeros_like, params),
            gg=jax.tree.map(factors, params),
            q=jax.tree.map(factors, params),
        )

    def first_call(updates, state):
        gg = jax.tree.map(lambda g, f: _accumulate(f, g, beta_f), updates, state.gg)
        q = jax.tree.map(
            lambda g, f: tuple(None if x is None else _eigh_descending(x) for x in f), updates, gg
        )
        zeros = jax.tree.map(jnp.zeros_like, updates)
        return zeros, state.mu, state.nu, gg, q

    def later_call(updates, state):
        t = state.count

        def leaf(g, m, v, fac, qs):
            tf = t.astype(g.dtype)
            gp = _rotate(g, qs, back=False)
            m = b1 * m + (1.0 - b1) * gp
            v = b2 * v + (1.0 - b2) * gp * gp
            scale = jnp.sqrt(1.0 - b2**tf) / (1.0 - b1**tf)
            out = scale * _rotate(m / (jnp.sqrt(v) + eps), qs, back=True)
            return out, m, v, _accumulate(fac, g, beta_f)

        treedef = jax.tree.structure(updates)
        res = jax.tree.map(leaf, updates, state.mu, state.nu, state.gg, state.q)
        out, mu, nu, gg = _unzip(treedef, res, 4)

        def refresh(args):
            mu, nu, gg, q = args
            mu, nu, q = _unzip(treedef, jax.tree.map(_refresh_leaf, mu, nu, gg, q), 3)
            return mu, nu, gg, q

        mu, nu, gg, q = jax.lax.cond(
            t % precondition_frequency == 0, refresh, lambda a: a, (mu, nu, gg, state.q)
        )
        return out, mu, nu, gg, q

    def update_fn(updates, state, params=None):
        del params
        out, mu, nu, gg, q = jax.lax.cond(
            state.count == 0, first_call, later_call, updates, state
        )
        count = optax.safe_increment(state.count)
        return out, SoapState(count=count, mu=mu, nu=nu, gg=gg, q=q)

    return optax.GradientTransformation(init_fn, update_fn)


def decoupled_weight_decay(
    learning_rate: ScalarOrSchedule,
    weight_decay: float,
    *,
    after_step: bool = True,
    skip_first: bool = False,
) -> optax.GradientTransformation:
    """Add decoupled weight decay to an already scaled step (updates = Δp, params = p).

    With a = ``learning_rate(count) * weight_decay``:

    - ``after_step=True`` (SOAP reference): p_new = (p + Δp)(1 - a), i.e. the decay acts on the
      *updated* parameters; the output is Δp·(1 - a) - a·p.
    - ``after_step=False`` (AdamW, ``optax.adamw``): p_new = p + Δp - a·p.

    Place it *after* the learning-rate scaling in a chain. ``count`` counts every call from 0
    (the same count as ``optax.scale_by_learning_rate``'s schedule).

    Args:
      learning_rate: float or optax schedule (evaluated at the call count, from 0).
      weight_decay: the decay coefficient.
      after_step: decay the updated parameters (True) or the current ones (False).
      skip_first: make the first call a no-op (for SOAP, whose first call makes no update).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` needs ``params``.
    """

    def init_fn(params):
        del params
        return DecoupledWeightDecayState(count=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("decoupled_weight_decay needs `params` in update(updates, state, params)")
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        active = jnp.logical_not(skip_first & (state.count == 0))

        def leaf(u, p):
            # lr * wd in the leaf's dtype (a schedule's value may be float32 even under x64)
            a = jnp.where(active, jnp.asarray(lr, u.dtype) * weight_decay, 0.0).astype(u.dtype)
            return u * (1 - a) - a * p if after_step else u - a * p

        new = jax.tree.map(leaf, updates, params)
        return new, DecoupledWeightDecayState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


def soap(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.95,
    b2: float = 0.95,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    precondition_frequency: int = 10,
    max_precond_dim: int = 10000,
    precondition_1d: bool = False,
) -> optax.GradientTransformation:
    """SOAP optimizer (Vyas et al. 2024) with the reference implementation's exact semantics.

    ``chain(scale_by_soap(...), scale_by_learning_rate(lr), decoupled_weight_decay(lr, wd))``:
    per real update t (the first call makes no update, see :func:`scale_by_soap`),

        p_new = (p - lr_t · sqrt(1 - b2^t)/(1 - b1^t) · Q_L (m / (sqrt(v) + eps)) Q_Rᵀ) · (1 - lr_t·wd)

    i.e. decoupled weight decay is applied to the *updated* parameters, as in the reference. The
    returned ``updates`` equal ``p_new - p``, so ``update`` needs ``params`` whenever
    ``weight_decay != 0``. A schedule is evaluated at the call count (0 on the first call, which
    makes no update; ``lr(t)`` at real update t), as a PyTorch scheduler stepped once per
    training step would be.

    Leaves that are not preconditioned (scalars; 1-D leaves unless ``precondition_1d``; axes
    longer than ``max_precond_dim``) get Adam in the identity basis along those axes.

    Memory: besides the params, for a (m, n) matrix the state holds mu and nu (2·m·n) and two
    factors plus two bases (2·(m² + n²)), so 2 + 2(m² + n²)/(mn) floats per parameter: 6 for a
    square matrix (24 bytes per parameter in float32, vs 8 for Adam); for a leaf with axes d_k it is
    2 + 2·Σ d_k² / Π d_k. Unpreconditioned leaves cost 2 floats per parameter, as Adam.

    Args:
      learning_rate: float or optax schedule.
      b1: Adam's beta1 (first moment decay, kept in the rotated basis).
      b2: Adam's beta2 (second moment decay), also the decay of the Kronecker factors.
      eps: added to sqrt(v) before bias correction.
      weight_decay: decoupled weight decay coefficient (multiplied by the learning rate).
      precondition_frequency: refresh the eigenbases every this many real updates. The PINN paper
        uses 2 ... 10.
      max_precond_dim: axes longer than this get no factor.
      precondition_1d: precondition 1-D leaves too.

    Returns:
      An ``optax.GradientTransformation``; its state is a tuple whose first element is a
      :class:`SoapState`.

    Examples:
      >>> import jax, jax.numpy as jnp, optax
      >>> from pinns.optim import soap
      >>> target = jnp.array([[2.0, -1.0], [0.5, 3.0]])
      >>> loss = lambda p: jnp.sum((p["w"] - target) ** 2) + jnp.sum((p["b"] - 1.0) ** 2)
      >>> params = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
      >>> opt = soap(learning_rate=0.05, weight_decay=0.0)
      >>> @jax.jit
      ... def step(params, state):
      ...     updates, state = opt.update(jax.grad(loss)(params), state, params)
      ...     return optax.apply_updates(params, updates), state
      >>> state = opt.init(params)
      >>> new_params, state = step(params, state)
      >>> bool(jnp.all(new_params["w"] == params["w"]))  # the first call makes no update
      True
      >>> for _ in range(150):
      ...     params, state = step(params, state)
      >>> bool(loss(params) < 1e-2)
      True

    References:
      Vyas et al., "SOAP: Improving and Stabilizing Shampoo using Adam", arXiv:2409.11321.
    """
    parts = [
        scale_by_soap(
            b1=b1,
            b2=b2,
            eps=eps,
            precondition_frequency=precondition_frequency,
            max_precond_dim=max_precond_dim,
            precondition_1d=precondition_1d,
        ),
        optax.scale_by_learning_rate(learning_rate),
    ]
    if weight_decay != 0.0:
        parts.append(
            decoupled_weight_decay(learning_rate, weight_decay, after_step=True, skip_first=True)
        )
    return optax.chain(*parts)
