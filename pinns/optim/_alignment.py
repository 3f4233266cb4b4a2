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


def _alignment_from_gram(gram: jax.Array) -> jax.Array:
    n = gram.shape[0]
    norms = jnp.sqrt(jnp.clip(jnp.diagonal(gram), 0.0))
    inv = jnp.where(norms > 0, 1.0 / jnp.where(norms > 0, norms, 1.0), 0.0)  # zero vector: u = 0
    unit_gram = gram * inv[:, None] * inv[None, :]
    return 2.0 * jnp.sum(unit_gram) / n**2 - 1.0


def alignment_score(vectors: Sequence[Any]) -> jax.Array:
    """A(v_1..v_n) = 2‖(1/n) Σ v_i/‖v_i‖‖² − 1 for n pytrees (a zero vector counts as u_i = 0).

    Args:
      vectors: n >= 1 pytrees with the same structure.

    Returns:
      Scalar in [−1, 1].
    """
    return _alignment_from_gram(tree_gram(vectors))


def intra_step_alignment(per_term_grads: Sequence[Any]) -> jax.Array:
    """Alignment of the per-term gradients ∇L_1..∇L_n of one step (scalar in [−1, 1])."""
    return alignment_score(per_term_grads)


def inter_step_alignment(prev_grad: Any, grad: Any) -> jax.Array:
    """Alignment (cosine) of the full gradients of two consecutive steps (scalar in [−1, 1])."""
    return alignment_score([prev_grad, grad])
