"""Tests for the balancing baselines: each rule on toys with a closed-form answer, then the
wrapper (refresh period, running average, inner optimizer, required inputs)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.optimize import minimize

from pinns.optim import (
    BALANCERS,
    RULES,
    balance,
    dwa_weights,
    grad_norm_weights,
    ntk_trace,
    ntk_weights,
    tree_gram,
)
from pinns.optim import config_weights as _config_weights
from pinns.optim import imtlg_weights as _imtlg_weights
from pinns.optim import mgda_weights as _mgda_weights
from pinns.optim import pcgrad_weights as _pcgrad_weights

# jit the Gram-based rules once per shape: op-by-op dispatch of their many small ops costs more
# CPU time than one compilation.
config_weights = jax.jit(_config_weights)
imtlg_weights = jax.jit(_imtlg_weights)
mgda_weights = jax.jit(_mgda_weights)
pcgrad_weights = jax.jit(_pcgrad_weights)


pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)


def _gram(*vectors):
    g = np.stack(vectors).astype(np.float64)
    return jnp.asarray(g @ g.T), g


def _direction(weights, g):
    return np.asarray(weights) @ g


# Closed forms evaluated in float64 with a handful of operations: agreement to ~1e-15.
TIGHT = 1e-12


def test_grad_norm_weights_equalise_weighted_norms():
    norms = jnp.array([0.1, 2.0, 30.0])
    w = grad_norm_weights(norms)
    np.testing.assert_allclose(w * norms, np.full(3, 32.1), rtol=TIGHT)


def test_ntk_weights_are_trace_ratios():
    np.testing.assert_allclose(ntk_weights(jnp.array([1.0, 3.0])), [4.0, 4.0 / 3.0], rtol=TIGHT)


def test_ntk_trace_of_a_linear_model_is_mean_squared_input_norm():
    # f(θ, x) = θ·x: ∂f/∂θ = x, so the trace is the mean of ‖x‖²
    x = jnp.asarray(np.random.default_rng(0).normal(size=(9, 4)))
    tr = ntk_trace(lambda p, xi: p["t"] @ xi, {"t": jnp.ones(4)}, x)
    np.testing.assert_allclose(tr, np.mean(np.sum(np.asarray(x) ** 2, axis=1)), rtol=TIGHT)


def test_dwa_weights_softmax_of_loss_ratios():
    losses, prev = jnp.array([1.0, 3.0]), jnp.array([2.0, 3.0])
    r = np.array([0.5, 1.0])
    want = 2 * np.exp(r / 2.0) / np.sum(np.exp(r / 2.0))
    np.testing.assert_allclose(dwa_weights(losses, prev, temperature=2.0), want, rtol=TIGHT)


def test_pcgrad_projects_conflicting_gradients():
    gram, g = _gram([1.0, 0.0], [-1.0, 1.0])
    # g1' = g1 − (g1·g2/‖g2‖²) g2 = (0.5, 0.5); g2' = g2 − (g2·g1/‖g1‖²) g1 = (0, 1)
    np.testing.assert_allclose(_direction(pcgrad_weights(gram), g), [0.5, 1.5], rtol=TIGHT)


def test_pcgrad_leaves_agreeing_gradients_alone():
    gram, g = _gram([1.0, 0.0], [1.0, 1.0])
    np.testing.assert_allclose(pcgrad_weights(gram), [1.0, 1.0], rtol=TIGHT)


def test_mgda_two_terms_min_norm_point():
    gram, g = _gram([1.0, 0.0], [0.0, 2.0])
    w = mgda_weights(gram)  # γ = (4 − 0)/(1 + 4 − 0) = 0.8
    np.testing.assert_allclose(w, [0.8, 0.2], rtol=TIGHT)
    d = _direction(w, g)
    np.testing.assert_allclose(d @ (g[0] - g[1]), 0.0, atol=TIGHT)  # d ⟂ the hull's edge


def test_mgda_two_terms_clips_to_the_shorter_vertex():
    gram, _ = _gram([1.0, 0.0], [2.0, 0.0])
    np.testing.assert_allclose(mgda_weights(gram), [1.0, 0.0], atol=TIGHT)


def test_mgda_three_orthonormal_terms_is_the_centroid():
    gram, _ = _gram([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    # pinv of the bordered KKT system: ~1e-15 per entry
    np.testing.assert_allclose(mgda_weights(gram), np.full(3, 1 / 3), rtol=1e-10)


def test_mgda_zero_when_the_origin_is_in_the_hull_even_with_duplicates():
    gram, g = _gram([1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, 1.0])
    np.testing.assert_allclose(_direction(mgda_weights(gram), g), [0.0, 0.0], atol=1e-10)


@pytest.mark.parametrize("n", [3, 5])
def test_mgda_matches_a_generic_qp_solver(n):
    rng = np.random.default_rng(n)
    g = rng.normal(size=(n, 4)) * rng.uniform(0.5, 5.0, size=(n, 1))
    gram = g @ g.T
    w = np.asarray(mgda_weights(jnp.asarray(gram)))
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    res = minimize(lambda x: x @ gram @ x, np.full(n, 1 / n), jac=lambda x: 2 * gram @ x,
                   bounds=[(0, 1)] * n, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    # exact enumeration can only be better than SLSQP (up to SLSQP's own tolerance)
    assert w @ gram @ w <= res.fun + 1e-10


def test_imtlg_equal_projections_on_unit_gradients():
    gram, g = _gram([2.0, 0.0], [0.0, 1.0])
    w = imtlg_weights(gram)  # α_2 = g1·(u1−u2) / ((g1−g2)·(u1−u2)) = 2/3
    np.testing.assert_allclose(w, [1 / 3, 2 / 3], rtol=TIGHT)
    rng = np.random.default_rng(1)
    gram, g = _gram(*rng.normal(size=(3, 5)))
    w = imtlg_weights(gram)
    d = _direction(w, g)
    proj = g @ d / np.linalg.norm(g, axis=1)
    np.testing.assert_allclose(proj, proj[0], rtol=1e-10)  # pinv of a 2x2: a few ulps, x cond
    np.testing.assert_allclose(np.sum(w), 1.0, rtol=TIGHT)


def _imtlg_reference(g):
    """The IMTL-G paper's formula (α_{2:n} = g_1 Uᵀ (D Uᵀ)⁻¹, α_1 = 1 − Σ α_{2:n}), in float64 numpy."""
    u = g / np.linalg.norm(g, axis=1, keepdims=True)
    d, uu = g[0] - g[1:], u[0] - u[1:]
    alpha = g[0] @ uu.T @ np.linalg.inv(d @ uu.T)
    return np.concatenate([[1.0 - alpha.sum()], alpha])


def test_imtlg_matches_the_reference_formula_and_keeps_a_tiny_weight_in_float32():
    rng = np.random.default_rng(4)
    for n in (2, 3, 4):
        gram, g = _gram(*(rng.normal(size=(n, 7)) * rng.uniform(0.1, 10.0, size=(n, 1))))
        np.testing.assert_allclose(imtlg_weights(gram), _imtlg_reference(g), rtol=1e-10)
    # a residual gradient 1e7 times the boundary one (the Helmholtz problem's scales): α_1 ≈ 1e-7 must
    # survive float32, or the first term vanishes from the direction
    g = rng.normal(size=(2, 50))
    g[0] *= 1e7 / np.linalg.norm(g[0])
    g[1] /= np.linalg.norm(g[1])
    exact = _imtlg_reference(g)
    w32 = np.asarray(_imtlg_weights(jnp.asarray(g @ g.T, jnp.float32)), np.float64)
    np.testing.assert_allclose(w32, exact, rtol=1e-5)
    d32, d64 = w32 @ g, exact @ g
    np.testing.assert_allclose(d32 / np.linalg.norm(d32), d64 / np.linalg.norm(d64), atol=1e-5)


def test_config_orthogonal_pair_and_conflict_free_direction():
    gram, g = _gram([2.0, 0.0], [0.0, 1.0])
    # g_v = (1, 1) solves u_i·g_v = 1; length = Σ g_i·ĝ_v = 3/√2 → g_c = (1.5, 1.5)
    np.testing.assert_allclose(_direction(config_weights(gram), g), [1.5, 1.5], rtol=TIGHT)
    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(3, 6))
    vecs[1] = -vecs[0] + 0.3 * rng.normal(size=6)  # a strong conflict
    gram, g = _gram(*vecs)
    d = _direction(config_weights(gram), g)
    cos = g @ d / (np.linalg.norm(g, axis=1) * np.linalg.norm(d))
    assert np.all(cos > 0)
    np.testing.assert_allclose(cos, cos[0], rtol=1e-9)  # pinv of a 3x3 with a near-conflict
    ghat = d / np.linalg.norm(d)
    np.testing.assert_allclose(np.linalg.norm(d), np.sum(g @ ghat), rtol=1e-10)


# ------------------------------------------------------------------------------------------
# The wrapper
# ------------------------------------------------------------------------------------------
def _tree_grads(vectors):
    """Per-term gradient pytrees {"a": first 2 entries, "b": the rest}, from flat vectors."""
    return [{"a": jnp.asarray(v[:2]), "b": jnp.asarray(v[2:])} for v in vectors]


def _flat(tree):
    return np.concatenate([np.ravel(tree["a"]), np.ravel(tree["b"])])


def test_tree_gram_matches_flat_gram():
    vecs = np.random.default_rng(3).normal(size=(3, 5))
    np.testing.assert_allclose(tree_gram(_tree_grads(vecs)), vecs @ vecs.T, rtol=TIGHT)


def test_gradnorm_refresh_period_and_equalised_weighted_norms():
    tx = balance("gradnorm", optax.sgd(1.0), 2, update_every=3, momentum=0.0)
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    state = tx.init(params)
    step = jax.jit(tx.update)
    rng = np.random.default_rng(4)
    for call in range(7):
        vecs = rng.normal(size=(2, 5)) * np.array([[1.0], [50.0]])
        old_w = np.asarray(state.weights)
        updates, state = step(_tree_grads(vecs), state, params)
        w = np.asarray(state.weights)
        if call % 3 == 0:  # right after a refresh: every w_i ‖g_i‖ is the same
            wn = w * np.linalg.norm(vecs, axis=1)
            np.testing.assert_allclose(wn, wn[0], rtol=TIGHT)
        else:  # between refreshes the weights do not move
            np.testing.assert_array_equal(w, old_w)
        np.testing.assert_allclose(_flat(updates), -(w @ vecs), rtol=TIGHT)  # sgd(1): −Σ w_i g_i


def test_gradnorm_default_running_average():
    tx = balance("gradnorm", optax.sgd(1.0), 2)  # docs/design.md section 7 defaults: every 1000 steps, 0.9 / 0.1
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    vecs = np.array([[1.0, 0, 0, 0, 0], [0, 3.0, 0, 0, 0]])
    _, state = tx.update(_tree_grads(vecs), tx.init(params), params)
    np.testing.assert_allclose(state.weights, 0.9 + 0.1 * np.array([4.0, 4.0 / 3.0]), rtol=TIGHT)


def test_dwa_wrapper_uses_previous_losses():
    tx = balance("dwa", optax.sgd(1.0), 2)
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    grads = _tree_grads(np.eye(2, 5))
    state = tx.init(params)
    _, state = tx.update(grads, state, params, losses=jnp.array([2.0, 3.0]))
    np.testing.assert_allclose(state.weights, [1.0, 1.0])  # no history on the first call
    _, state = tx.update(grads, state, params, losses=jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(state.weights, dwa_weights(jnp.array([1.0, 3.0]), jnp.array([2.0, 3.0])))


def test_missing_inputs_and_unknown_rule_raise():
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    grads = _tree_grads(np.eye(2, 5))
    for rule, name in (("dwa", "losses"), ("ntk", "ntk_traces")):
        tx = balance(rule, optax.sgd(1.0), 2)
        with pytest.raises(ValueError, match=name):
            tx.update(grads, tx.init(params), params)
    with pytest.raises(KeyError, match="unknown"):
        balance("nope", optax.sgd(1.0), 2)


def test_every_rule_runs_under_jit_with_adam():
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    vecs = np.random.default_rng(5).normal(size=(3, 5))
    extra = dict(losses=jnp.array([1.0, 2.0, 3.0]), ntk_traces=jnp.array([1.0, 2.0, 4.0]))
    txs = {name: balance(name, optax.adam(1e-3), 3) for name in RULES}

    @jax.jit  # all rules in one program: one compilation
    def two_steps(grads):
        out = {}
        for name, tx in txs.items():
            state = tx.init(params)
            for _ in range(2):
                updates, state = tx.update(grads, state, params, **extra)
            out[name] = (updates, state)
        return out

    for name, result in two_steps(_tree_grads(vecs)).items():
        assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(result)), name


def test_balancers_share_the_autobalance_contract():
    params = {"a": jnp.zeros(2), "b": jnp.zeros(3)}
    grads = _tree_grads(np.array([[1.0, 0, 0, 0, 0], [-1.0, 1.0, 0, 0, 0]]))
    assert set(BALANCERS) == set(RULES) | {"autobalance"}
    tx = BALANCERS["pcgrad"](lambda: optax.sgd(1.0), 2)
    updates, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(_flat(updates), [-0.5, -1.5, 0, 0, 0], rtol=TIGHT)  # see pcgrad toy


def test_one_zero_gradient_convention_for_the_ratio_rules():
    """grad-norm and NTK weights share one rule: a vanishing scale keeps weight 1 (the trainer's convention)."""
    for rule in (grad_norm_weights, ntk_weights):
        np.testing.assert_allclose(rule(jnp.array([2.0, 0.0, 6.0])), [4.0, 1.0, 8.0 / 6.0], rtol=TIGHT)
        np.testing.assert_allclose(rule(jnp.zeros(2)), [1.0, 1.0])


def test_refresh_weights_is_the_running_average_of_the_rule():
    from pinns.optim import RuleInputs, refresh_weights

    w = jnp.array([1.0, 1.0])
    inputs = RuleInputs(None, None, w, None, jnp.zeros((), jnp.int32), norms=jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(refresh_weights("gradnorm", w, inputs, 0.9), 0.9 * w + 0.1 * jnp.array([4.0, 4.0 / 3.0]),
                               rtol=TIGHT)
    np.testing.assert_allclose(refresh_weights("gradnorm", w, inputs, 0.0), [4.0, 4.0 / 3.0], rtol=TIGHT)
