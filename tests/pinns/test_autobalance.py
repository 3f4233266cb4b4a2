"""Tests for pinns.optim.autobalance: per-term optimizer states, summed updates, decay once."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns.optim import auto_adam, auto_adamw, auto_soap, autobalance, per_term_grads, soap


pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {"w": jnp.asarray(rng.normal(size=(3, 3))), "b": jnp.asarray(rng.normal(size=3))}


def _grads(seed, n_calls):
    rng = np.random.default_rng(seed)
    return [
        {"w": jnp.asarray(rng.normal(size=(3, 3))), "b": jnp.asarray(rng.normal(size=3))}
        for _ in range(n_calls)
    ]


def _run(opt, grads_per_call, params, multi):
    """Apply opt for len(grads_per_call) calls; multi=True wraps each call's grads as a sequence."""
    state = opt.init(params)
    step = jax.jit(opt.update)
    out = []
    for g in grads_per_call:
        updates, state = step(g, state, params)
        params = optax.apply_updates(params, updates)
        out.append(updates)
    return params, out


# Same floating-point operations in a different grouping (sum of one term, separate decay
# transform): the results agree to a few ulps.
RTOL = 1e-13


@pytest.mark.parametrize(
    "make_single, make_auto",
    [
        (lambda: optax.adam(1e-2), lambda: auto_adam(1e-2, 1)),
        (lambda: optax.adamw(1e-2, weight_decay=0.1), lambda: auto_adamw(1e-2, 1, weight_decay=0.1)),
        (lambda: soap(1e-2, precondition_frequency=2), lambda: auto_soap(1e-2, 1, precondition_frequency=2)),
    ],
    ids=["adam", "adamw", "soap"],
)
def test_one_term_equals_base_optimizer(make_single, make_auto):
    grads = _grads(1, 6)
    p_single, _ = _run(make_single(), grads, _params(), multi=False)
    p_auto, _ = _run(make_auto(), [[g] for g in grads], _params(), multi=True)
    for k in p_single:
        np.testing.assert_allclose(p_auto[k], p_single[k], rtol=RTOL, err_msg=k)


@pytest.mark.parametrize(
    "make_base", [lambda: optax.adam(1e-2), lambda: soap(1e-2, weight_decay=0.0, precondition_frequency=2)],
    ids=["adam", "soap"],
)
def test_n_identical_terms_give_n_times_the_base_update(make_base):
    n = 2
    grads = _grads(2, 5)
    base, auto = make_base(), autobalance(make_base, n)
    params = _params()
    s_base, s_auto = base.init(params), auto.init(params)
    step_base, step_auto = jax.jit(base.update), jax.jit(auto.update)
    for g in grads:  # same params for both, so that every call sees identical inputs
        u_base, s_base = step_base(g, s_base, params)
        u_auto, s_auto = step_auto([g] * n, s_auto, params)
        for k in params:
            np.testing.assert_allclose(u_auto[k], n * u_base[k], rtol=RTOL, atol=1e-15, err_msg=k)


def test_weight_decay_applied_once_adamw():
    n, lr, wd = 3, 1e-2, 0.5
    params = _params()
    g = _grads(3, 1)[0]
    adam = optax.adam(lr)
    u_adam, _ = adam.update(g, adam.init(params), params)
    auto = auto_adamw(lr, n, weight_decay=wd)
    u_auto, _ = auto.update([g] * n, auto.init(params), params)
    for k in params:  # p_new = p + n·d_adam − lr·wd·p (not n·lr·wd·p)
        np.testing.assert_allclose(u_auto[k], n * u_adam[k] - lr * wd * params[k], rtol=RTOL)


def test_weight_decay_applied_once_soap_on_updated_params():
    n, lr, wd = 2, 1e-2, 0.5
    params = _params()
    grads = _grads(4, 3)
    base = soap(lr, weight_decay=0.0)
    auto = auto_soap(lr, n, weight_decay=wd)
    s_base, s_auto = base.init(params), auto.init(params)
    step_base, step_auto = jax.jit(base.update), jax.jit(auto.update)
    for call, g in enumerate(grads):
        u_base, s_base = step_base(g, s_base, params)
        u_auto, s_auto = step_auto([g] * n, s_auto, params)
        for k in params:
            if call == 0:  # SOAP's first call makes no update: no decay either
                np.testing.assert_array_equal(u_auto[k], 0.0)
            else:  # p_new = (p + n·d)(1 − lr·wd)
                want = (params[k] + n * u_base[k]) * (1 - lr * wd) - params[k]
                # atol: `want` is a difference of O(1) numbers (cancellation at ~1e-16)
                np.testing.assert_allclose(u_auto[k], want, rtol=1e-12, atol=1e-15)


def test_terms_keep_independent_states():
    # two terms with gradients of very different scales: each Adam state normalises its own term,
    # so both contribute steps of the same size (the point of AutoBalance).
    auto = auto_adam(1e-2, 2)
    params = {"x": jnp.zeros(2)}
    state = auto.init(params)
    g1, g2 = {"x": jnp.array([1e3, 0.0])}, {"x": jnp.array([0.0, 1e-3])}
    updates, state = auto.update([g1, g2], state, params)
    # Adam's first step is lr·g/(|g| + eps): off by eps/|g| = 1e-5 for the small term
    np.testing.assert_allclose(updates["x"], [-1e-2, -1e-2], rtol=2e-5)
    mu1, mu2 = state.inner_states[0][0].mu["x"], state.inner_states[1][0].mu["x"]
    np.testing.assert_allclose(mu1, [100.0, 0.0])
    np.testing.assert_allclose(mu2, [0.0, 1e-4])


def test_wrong_number_of_terms_raises():
    auto = auto_adam(1e-2, 2)
    params = {"x": jnp.zeros(2)}
    with pytest.raises(ValueError, match="expected 2"):
        auto.update([{"x": jnp.ones(2)}], auto.init(params), params)


def test_per_term_grads_match_separate_gradients():
    def terms(p, x):
        u = jnp.tanh(x @ p["w"] + p["b"])
        return jnp.stack([jnp.mean(u**2), jnp.mean((u - 1.0) ** 2), jnp.sum(p["w"] ** 2)])

    params = _params(5)
    x = jnp.asarray(np.random.default_rng(6).normal(size=(7, 3)))
    values, grads = jax.jit(lambda p, x: per_term_grads(terms, p, x))(params, x)
    assert len(grads) == 3
    separate = jax.jit(lambda p, x: [jax.grad(lambda q: terms(q, x)[i])(p) for i in range(3)])
    wants = separate(params, x)
    np.testing.assert_allclose(values, terms(params, x), rtol=1e-14)
    for i, want in enumerate(wants):
        for k in params:
            np.testing.assert_allclose(grads[i][k], want[k], rtol=1e-12, atol=1e-15)
