"""Tests for the gradient alignment score A(v_1..v_n) = 2‖(1/n) Σ v_i/‖v_i‖‖² − 1."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinns.optim import alignment_score as _alignment_score
from pinns.optim import inter_step_alignment as _inter_step_alignment
from pinns.optim import intra_step_alignment as _intra_step_alignment

# jitted once per number of vectors: cheaper than op-by-op dispatch of the Gram computation
alignment_score = jax.jit(_alignment_score)
inter_step_alignment = jax.jit(_inter_step_alignment)
intra_step_alignment = jax.jit(_intra_step_alignment)


pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)


def _tree(v):
    """A pytree with mixed leaf shapes holding the 7 entries of v."""
    v = jnp.asarray(v, jnp.float64)
    return {"w": v[:4].reshape(2, 2), "b": (v[4:6], v[6])}


V = np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.5, -1.0])
W = np.array([2.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0])  # V·W = 2 − 2 = 0: orthogonal to V

# a few float64 operations: exact to round-off
TOL = 1e-14


def test_parallel_vectors_score_one():
    assert abs(float(alignment_score([_tree(V), _tree(3.0 * V), _tree(0.1 * V)])) - 1.0) < TOL


def test_antiparallel_vectors_score_minus_one():
    assert abs(float(inter_step_alignment(_tree(V), _tree(-2.0 * V))) + 1.0) < TOL


def test_orthogonal_vectors_score_zero():
    assert abs(float(intra_step_alignment([_tree(V), _tree(W)]))) < TOL


def test_two_vectors_score_is_their_cosine():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=7), rng.normal(size=7)
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    np.testing.assert_allclose(alignment_score([_tree(a), _tree(b)]), cos, rtol=1e-13)


def test_n_orthonormal_vectors_score_two_over_n_minus_one():
    e = np.eye(7)
    np.testing.assert_allclose(alignment_score([_tree(e[i]) for i in range(4)]), 2 / 4 - 1, atol=TOL)


def test_scale_invariant_and_zero_vector_safe():
    score = alignment_score
    a = float(score([_tree(V), _tree(W + V)]))
    b = float(score([_tree(1e-6 * V), _tree(1e3 * (W + V))]))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    z = float(score([_tree(V), _tree(np.zeros(7))]))  # u = 0 for the zero vector: 2·¼ − 1
    np.testing.assert_allclose(z, -0.5, atol=TOL)
