"""Gradient alignment score (SOAP-for-PINNs paper, eq. 3) and Gram matrices of pytrees.

A(v_1..v_n) = 2 ‖(1/n) Σ_i v_i/‖v_i‖‖² − 1 ∈ [−1, 1]: 1 when all vectors point the same way,
−1 for two opposite vectors, 0 for two orthogonal ones (for n orthonormal vectors 2/n − 1).
With n = 2 it is the cosine of the angle between the two. *Intra-step* alignment is the score of
the per-term gradients of one step; *inter-step* alignment is the score of the full gradients of
two consecutive steps. Everything here is a pure function of pytrees (any structure, all leaves
float arrays), usable under ``jit``.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp

__all__ = [
    "tree_gram",
    "alignment_score",
    "intra_step_alignment",
    "inter_step_alignment",
]


def tree_gram(trees: Sequence[Any]) -> jax.Array:
    """Gram matrix M_ij = <v_i, v_j> of n pytrees with the same structure.

    Args:
      trees: n pytrees (e.g. per-term gradients), same structure and leaf shapes.

    Returns:
      (n, n) array, symmetric positive semidefinite, in the leaves' (promoted) dtype. Matrix
      products use full precision (no TF32 on GPUs).
    """
    if len(trees) == 0:
        raise ValueError("tree_gram needs at least one tree")
    leaves = [jax.tree.leaves(t) for t in trees]
    total = None
    for parts in zip(*leaves):
        x = jnp.stack([jnp.ravel(p) for p in parts])  # (n, leaf size)
        m = jnp.matmul(x, x.T, precision=jax.lax.Precision.HIGHEST)
        total = m if total is None else total + m
    if total is None:  # trees without leaves
        return jnp.zeros((len(trees), len(trees)))
    return total


def _rows(vectors) -> jax.Array:
    """(n, p) matrix of n vectors: an (n, p) array as it is, or n pytrees flattened (leaf order)."""
    if hasattr(vectors, "ndim") and vectors.ndim == 2:
        return jnp.asarray(vectors)
    if len(vectors) == 0:
        raise ValueError("alignment_score needs at least one vector")
    return jnp.stack([jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(t)]) for t in vectors])


def alignment_score(vectors: Sequence[Any]) -> jax.Array:
    """A(v_1..v_n) = 2‖(1/n) Σ v_i/‖v_i‖‖² − 1 for n vectors (a zero vector counts as u_i = 0).

    The one implementation of the score (the trainer logs it too): the vectors are flattened into
    the rows of one (n, p) matrix, normalised (norms floored at 1e-30, so a zero row stays zero)
    and averaged.

    Args:
      vectors: n >= 1 pytrees with the same structure, or an (n, p) array of n row vectors.

    Returns:
      Scalar in [−1, 1].
    """
    rows = _rows(vectors)
    unit = rows / jnp.maximum(jnp.linalg.norm(rows, axis=1, keepdims=True), 1e-30)
    return 2 * jnp.sum(jnp.mean(unit, axis=0) ** 2) - 1


def intra_step_alignment(per_term_grads: Sequence[Any]) -> jax.Array:
    """Alignment of the per-term gradients ∇L_1..∇L_n of one step (scalar in [−1, 1])."""
    return alignment_score(per_term_grads)


def inter_step_alignment(prev_grad: Any, grad: Any) -> jax.Array:
    """Alignment (cosine) of the full gradients of two consecutive steps (scalar in [−1, 1])."""
    return alignment_score([prev_grad, grad])
