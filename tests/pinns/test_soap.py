"""Tests for pinns.optim.soap: a golden run against a NumPy port of the reference algorithm,
then one behaviour per test (first call, bias correction, refresh, Adam fallbacks, eigenbasis)."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns.optim import _soap, scale_by_soap, soap


pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)


# ---------------------------------------------------------------------------------------------
# NumPy re-implementation of the reference SOAP step (nikhilvyas/SOAP soap.py, merge_dims=False,
# correct_bias=True, normalize_grads=False), one instance per parameter. Written from the
# reference's semantics (docs/design.md section 8), with the same call order and in-place formulas.
# ---------------------------------------------------------------------------------------------
class RefSOAP:
    def __init__(self, b1=0.95, b2=0.95, eps=1e-8, wd=0.01, freq=10, max_dim=10000, pre1d=False):
        self.b1, self.b2, self.eps, self.wd = b1, b2, eps, wd
        self.freq, self.max_dim, self.pre1d = freq, max_dim, pre1d
        self.st = {}

    # -- projections: tensordot over axis 0 with each factor, cycling the axes ------------------
    @staticmethod
    def _project(x, qs, back):
        for q in qs:
            if q is None:
                x = np.transpose(x, list(range(1, x.ndim)) + [0])
            else:
                x = np.tensordot(x, q, axes=([0], [1 if back else 0]))
        return x

    def _update_preconditioner(self, g):
        st = self.st
        if st["Q"] is not None:
            st["m"] = self._project(st["m"], st["Q"], back=True)
        for k, fac in enumerate(st["GG"]):
            if fac is None:
                continue
            others = [i for i in range(g.ndim) if i != k]
            outer = np.tensordot(g, g, axes=(others, others))
            st["GG"][k] = fac + (1 - self.b2) * (outer - fac)  # torch lerp_
        if st["Q"] is None:
            st["Q"] = []
            for fac in st["GG"]:
                if fac is None:
                    st["Q"].append(None)
                else:
                    _, vecs = np.linalg.eigh(fac + 1e-30 * np.eye(fac.shape[0]))
                    st["Q"].append(np.flip(vecs, 1))
        if st["step"] > 0 and st["step"] % self.freq == 0:
            new = []
            for k, (fac, q) in enumerate(zip(st["GG"], st["Q"])):
                if fac is None:
                    new.append(None)
                    continue
                est = np.diag(q.T @ fac @ q)
                idx = np.argsort(-est, kind="stable")
                st["v"] = np.take(st["v"], idx, axis=k)
                new.append(np.linalg.qr(fac @ q[:, idx])[0])
            st["Q"] = new
        if st["step"] > 0:
            st["m"] = self._project(st["m"], st["Q"], back=False)

    def step(self, p, g, lr):
        st = self.st
        if not st:
            st.update(m=np.zeros_like(g), v=np.zeros_like(g), step=0, Q=None)
            if g.ndim == 1:
                use = [self.pre1d and g.shape[0] <= self.max_dim]
            else:
                use = [d <= self.max_dim for d in g.shape]
            st["GG"] = [np.zeros((d, d)) if u else None for d, u in zip(g.shape, use)]
            self._update_preconditioner(g)
            return p  # first call: no update
        gp = self._project(g, st["Q"], back=False)
        st["step"] += 1
        t = st["step"]
        st["m"] = st["m"] * self.b1 + (1 - self.b1) * gp
        st["v"] = st["v"] * self.b2 + (1 - self.b2) * gp**2
        denom = np.sqrt(st["v"]) + self.eps
        step_size = lr * np.sqrt(1 - self.b2**t) / (1 - self.b1**t)
        p = p - step_size * self._project(st["m"] / denom, st["Q"], back=True)
        if self.wd > 0:
            p = p + (-lr * self.wd) * p
        self._update_preconditioner(g)
        return p


def _np_adam(p0, grad_fn, n_calls, lr, b1, b2, eps, wd):
    """Adam with the reference's conventions: first call skipped, eps before bias correction,
    decoupled weight decay on the updated parameters."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for call in range(n_calls):
        g = grad_fn(p)
        if call == 0:
            continue
        t = call
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        p = p * (1 - lr * wd)
    return p


def _nonlinear_grad(h, c):
    """Gradient of a smooth non-quadratic loss, so that G (and the factors) vary from step to step."""
    return lambda p: h * (p - c) + 0.3 * np.sin(3.0 * p)


def _run_pair(shapes, n_calls, lr, seed=0, share_first_basis=False, **kw):
    """Run pinns.optim.soap (jit) and RefSOAP side by side on the same loss; return both params.

    The gradient gets a fresh random term at every call (as with resampled collocation points).
    With a deterministic loss, the second call (the first real update) would see the very
    gradient that set the bases, whose rotation Q_Lᵀ G Q_R is diagonal: its off-diagonal entries
    are round-off (~1e-15) divided by eps (1e-8) in Adam, i.e. noise of 1e-8 in the step, in the
    reference as much as here, and no two codes could agree better than that.

    ``share_first_basis`` hands our first eigenbases to the reference after the first call. Needed
    where a factor starts rank-deficient (a 1-D leaf's g gᵀ has rank 1): the eigenvectors of its
    zero eigenvalue are arbitrary, and any choice is as right as the reference's.
    """
    rng = np.random.default_rng(seed)
    names = sorted(shapes)
    p0 = {k: rng.normal(size=shapes[k]) for k in names}
    smooth = {k: _nonlinear_grad(rng.uniform(0.5, 2.0, shapes[k]), rng.normal(size=shapes[k])) for k in names}
    noise = {k: 0.5 * rng.normal(size=(n_calls,) + shapes[k]) for k in names}
    grads = {k: (lambda p, c, k=k: smooth[k](p) + noise[k][c]) for k in names}
    lr_fn = lr if callable(lr) else (lambda c: lr)
    ref_kw = dict(b1=kw.get("b1", 0.95), b2=kw.get("b2", 0.95), eps=kw.get("eps", 1e-8),
                  wd=kw.get("weight_decay", 0.01), freq=kw.get("precondition_frequency", 10),
                  max_dim=kw.get("max_precond_dim", 10000), pre1d=kw.get("precondition_1d", False))
    refs = {k: RefSOAP(**ref_kw) for k in names}
    p_ref = {k: v.copy() for k, v in p0.items()}

    opt = soap(lr, **kw)
    params = {k: jnp.asarray(v) for k, v in p0.items()}
    state = opt.init(params)
    step = jax.jit(opt.update)
    for call in range(n_calls):
        g = {k: jnp.asarray(grads[k](np.asarray(params[k]), call)) for k in names}
        updates, state = step(g, state, params)
        params = optax.apply_updates(params, updates)
        for k in names:
            p_ref[k] = refs[k].step(p_ref[k], grads[k](p_ref[k], call), float(lr_fn(call)))
            if call == 0 and share_first_basis:
                refs[k].st["Q"] = [None if q is None else np.asarray(q) for q in state[0].q[k]]
    return {k: np.asarray(v) for k, v in params.items()}, p_ref, state


# Trajectories of 30 steps agree to round-off: the two codes use different LAPACK calls and
# summation orders (~1e-16 per op), amplified mildly by Adam's normalisation; 1e-10 leaves room.
GOLDEN_RTOL = 1e-10


def test_matches_numpy_reference_on_square_and_3d_params():
    # square full-rank matrices and a 3-D tensor whose unfoldings are full rank: eigenbases are
    # unique up to sign, so the trajectories are comparable. 1-D and scalar leaves ride along.
    shapes = {"w": (5, 5), "t": (3, 4, 5), "b": (6,), "s": ()}
    got, want, _ = _run_pair(shapes, 30, 0.03, precondition_frequency=3)
    for k in shapes:
        np.testing.assert_allclose(got[k], want[k], rtol=GOLDEN_RTOL, atol=GOLDEN_RTOL, err_msg=k)


def test_matches_numpy_reference_with_schedule_freq1_and_precondition_1d():
    # a schedule computed in float64: optax's built-in schedules return float32 values at an
    # int32 count (and slightly different ones under jit), which would blur a 1e-10 comparison.
    sched = lambda count: 0.05 * jnp.minimum(jnp.asarray(count, jnp.float64), 10.0) / 10.0
    # the 1-D leaf has length 3: its factor has rank >= 2 from the first refresh on, so the
    # QR basis is unique up to signs once the first (arbitrary) eigenbasis is shared.
    shapes = {"w": (4, 4), "b": (3,)}
    got, want, _ = _run_pair(shapes, 25, sched, share_first_basis=True, precondition_frequency=1,
                             precondition_1d=True, weight_decay=0.1, b1=0.9, b2=0.99)
    for k in shapes:
        np.testing.assert_allclose(got[k], want[k], rtol=GOLDEN_RTOL, atol=GOLDEN_RTOL, err_msg=k)


def test_matches_numpy_reference_with_max_precond_dim():
    # (4, 7): only the 4-axis gets a factor (full rank 4x4); (3, 4, 8): the last axis gets none.
    # (No factor at all is test_axes_longer_than_max_precond_dim_get_plain_adam.)
    shapes = {"one_sided": (4, 7), "t": (3, 4, 8)}
    got, want, _ = _run_pair(shapes, 25, 0.03, precondition_frequency=4, max_precond_dim=5)
    for k in shapes:
        np.testing.assert_allclose(got[k], want[k], rtol=GOLDEN_RTOL, atol=GOLDEN_RTOL, err_msg=k)


# One optimizer, compiled once, for the two tests of the first calls. A large eps (1e-3) makes its
# placement (before the bias correction) visible; weight decay 0.5 makes its placement visible.
_FIRST = dict(lr=0.1, b1=0.9, b2=0.99, eps=1e-3, wd=0.5)
_FIRST_OPT = soap(_FIRST["lr"], b1=_FIRST["b1"], b2=_FIRST["b2"], eps=_FIRST["eps"],
                  weight_decay=_FIRST["wd"])
_FIRST_STEP = jax.jit(_FIRST_OPT.update)


def test_first_call_makes_no_update_and_only_initialises_factors():
    rng = np.random.default_rng(1)
    g = jnp.asarray(rng.normal(size=(4, 3)))
    params = jnp.asarray(rng.normal(size=(4, 3)))
    updates, state = _FIRST_STEP(g, _FIRST_OPT.init(params), params)
    s = state[0]
    assert np.all(np.asarray(updates) == 0.0)  # no step and no weight decay either
    assert np.all(np.asarray(s.mu) == 0.0) and np.all(np.asarray(s.nu) == 0.0)
    assert int(s.count) == 1
    L, R = s.gg
    one_minus_b2 = 1 - _FIRST["b2"]
    np.testing.assert_allclose(L, one_minus_b2 * g @ g.T, rtol=1e-13)  # from zero, weight 1 - b2
    np.testing.assert_allclose(R, one_minus_b2 * g.T @ g, rtol=1e-13)
    for fac, q in zip(s.gg, s.q):  # Q from a full eigendecomposition, descending eigenvalues
        np.testing.assert_allclose(q.T @ q, np.eye(q.shape[0]), atol=1e-13)
        lam = np.diag(q.T @ fac @ q)
        assert np.all(np.diff(lam) <= 1e-14)
        np.testing.assert_allclose(q.T @ fac @ q, np.diag(lam), atol=1e-13)


def test_first_real_update_uses_bias_correction_t1():
    rng = np.random.default_rng(2)
    g, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    lr, b1, b2, eps, wd = (_FIRST[k] for k in ("lr", "b1", "b2", "eps", "wd"))
    _, state = _FIRST_STEP(jnp.asarray(g), _FIRST_OPT.init(jnp.asarray(p)), jnp.asarray(p))
    ql, qr = state[0].q
    updates, _ = _FIRST_STEP(jnp.asarray(g), state, jnp.asarray(p))
    gp = ql.T @ g @ qr
    d = (1 - b1) * gp / (np.sqrt((1 - b2) * gp**2) + eps)  # moments after one update from zero
    p_new = (p - lr * np.sqrt(1 - b2) / (1 - b1) * (ql @ d @ qr.T)) * (1 - lr * wd)  # t = 1
    np.testing.assert_allclose(p + np.asarray(updates), p_new, rtol=1e-12)


def test_refresh_happens_every_frequency_and_moves_moments_consistently():
    """Q changes exactly when t % frequency == 0; the first moment, seen in the original space,
    follows m_t = b1 m_{t-1} + (1 - b1) G_t across refreshes (it is rotated, not reset); the
    second moment is only permuted (same multiset of values as without a refresh)."""
    rng = np.random.default_rng(3)
    freq, b1 = 3, 0.95
    tx = scale_by_soap(b1=b1, precondition_frequency=freq)
    tx_never = scale_by_soap(b1=b1, precondition_frequency=1000)
    state = tx.init(jnp.zeros((4, 4)))
    state_never = tx_never.init(jnp.zeros((4, 4)))
    update, update_never = jax.jit(tx.update), jax.jit(tx_never.update)
    m_orig = np.zeros((4, 4))
    for call in range(10):
        g = jnp.asarray(rng.normal(size=(4, 4)))
        old_q = [np.asarray(q) for q in state.q]
        _, new_state = update(g, state, None)
        _, state_never = update_never(g, state_never, None)
        t = call  # real update number made by this call (0: the init call)
        if t >= 1:
            changed = any(not np.allclose(a, b, atol=0, rtol=0) for a, b in zip(old_q, new_state.q))
            assert changed == (t % freq == 0), t
            m_orig = b1 * m_orig + (1 - b1) * np.asarray(g)
            ql, qr = new_state.q
            np.testing.assert_allclose(ql @ new_state.mu @ qr.T, m_orig, rtol=1e-12, atol=1e-13)
            if t == freq:  # first refresh: before it both runs were identical
                np.testing.assert_allclose(np.sort(new_state.nu, axis=None),
                                           np.sort(state_never.nu, axis=None), rtol=1e-13)
        state = new_state


def test_1d_params_get_plain_adam():
    rng = np.random.default_rng(4)
    h, c = rng.uniform(0.5, 2, 8), rng.normal(size=8)
    grad = _nonlinear_grad(h, c)
    p0 = rng.normal(size=8)
    lr, b1, b2, eps, wd = 0.02, 0.9, 0.99, 1e-8, 0.05
    want = _np_adam(p0, grad, 20, lr, b1, b2, eps, wd)
    opt = soap(lr, b1=b1, b2=b2, eps=eps, weight_decay=wd)
    p = jnp.asarray(p0)
    state = opt.init(p)
    step = jax.jit(opt.update)
    for _ in range(20):
        u, state = step(jnp.asarray(grad(np.asarray(p))), state, p)
        p = optax.apply_updates(p, u)
    np.testing.assert_allclose(p, want, rtol=1e-12)  # same formulas, only round-off differs
    assert state[0].gg == (None,) and state[0].q == (None,)


def test_axes_longer_than_max_precond_dim_get_plain_adam():
    rng = np.random.default_rng(5)
    h, c = rng.uniform(0.5, 2, (6, 7)), rng.normal(size=(6, 7))
    grad = _nonlinear_grad(h, c)
    p0 = rng.normal(size=(6, 7))
    want = _np_adam(p0, grad, 15, 0.02, 0.95, 0.95, 1e-8, 0.01)
    opt = soap(0.02, max_precond_dim=5)
    p = jnp.asarray(p0)
    state = opt.init(p)
    step = jax.jit(opt.update)
    for _ in range(15):
        u, state = step(jnp.asarray(grad(np.asarray(p))), state, p)
        p = optax.apply_updates(p, u)
    np.testing.assert_allclose(p, want, rtol=1e-12)  # same formulas, only round-off differs


def test_frequency_one_on_rotated_diagonal_quadratic_is_adam_in_eigenbasis():
    """f(W) = ½ Σ_i a_i X_ii², X = U_Lᵀ W U_R (U_L, U_R orthogonal), W_0 = U_L diag(x_0) U_Rᵀ.

    G = U_L diag(a_i x_i) U_Rᵀ, so L = U_L diag(λ) U_Lᵀ and R = U_R diag(λ) U_Rᵀ with the same
    λ = EMA of (a_i x_i)²: the first eigh gives Q_L = U_L P S_L and Q_R = U_R P S_R (one
    permutation P, signs S). The rotated gradient is then diagonal, Adam keeps X diagonal, and one
    power iteration + QR on an exact eigenbasis returns it (up to order and signs), which the
    moments follow. Hence W_t = U_L diag(x_t) U_Rᵀ, where x_t is Adam (eps before bias correction)
    on ½ Σ a_i x_i², one call behind (SOAP's first call makes no update).

    Only X's diagonal enters f: with a curvature on the off-diagonal entries (which start at 0),
    their round-off (1e-16) would be amplified, because Adam on gradients far below eps is plain
    gradient descent with step lr/eps, unstable once lr·a/eps > ~4 (a property of Adam itself).
    """
    rng = np.random.default_rng(6)
    n = 4
    ul, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ur, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = np.array([1.0, 1.5, 2.0, 2.5])
    x0 = np.array([1.0, 2.0, 3.0, 4.0])  # |a_i x_i| well separated: no eigenvalue crossing

    def grad_w(w):
        x = np.diag(ul.T @ w @ ur)
        return ul @ np.diag(a * x) @ ur.T

    lr, eps = 0.01, 1e-3  # eps >> the round-off left in the off-diagonal rotated gradient
    x_want = _np_adam(x0, lambda x: a * x, 30, lr, 0.95, 0.95, eps, 0.0)
    opt = soap(lr, eps=eps, weight_decay=0.0, precondition_frequency=1)
    w = jnp.asarray(ul @ np.diag(x0) @ ur.T)
    state = opt.init(w)
    step = jax.jit(opt.update)
    for _ in range(30):
        u, state = step(jnp.asarray(grad_w(np.asarray(w))), state, w)
        w = optax.apply_updates(w, u)
    # off-diagonal drift per step: round-off of G' (~1e-15 |G|, |G| <= 10) / eps (1e-3) times
    # the step lr·sqrt(1-b2^t)/(1-b1^t) (<= 0.05): ~1e-13, so ~3e-12 after 30 steps
    np.testing.assert_allclose(ul.T @ np.asarray(w) @ ur, np.diag(x_want), rtol=0, atol=1e-10)


def test_jit_does_not_recompile_and_state_stays_finite_on_rank_deficient_grads():
    opt = soap(1e-2, precondition_frequency=2)
    params = {"w": jnp.ones((5, 3)), "z": jnp.zeros((4, 4))}
    state = opt.init(params)
    step = jax.jit(opt.update)
    rng = np.random.default_rng(7)
    for i in range(8):
        u = rng.normal(size=5)
        grads = {
            "w": jnp.asarray(np.outer(u, [1.0, 2.0, 3.0])),  # rank 1: rank-deficient factors
            "z": jnp.zeros((4, 4)),  # exactly zero factors
        }
        updates, state = step(grads, state, params)
        params = optax.apply_updates(params, updates)
    assert step._cache_size() == 1
    for leaf in jax.tree.leaves((params, state)):
        assert np.all(np.isfinite(leaf))


def test_eigh_failure_falls_back_without_nan():
    bad = jnp.array([[1.0, jnp.nan], [jnp.nan, 1.0]])
    q = _soap._eigh_descending(bad)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-12)


def test_composes_with_chain_scan_and_float32():
    target = jnp.asarray(np.random.default_rng(8).normal(size=(3, 3)), dtype=jnp.float32)
    loss = lambda p: jnp.sum((p["w"] - target) ** 2) + jnp.sum(p["b"] ** 2)
    params = {"w": jnp.zeros((3, 3), jnp.float32), "b": jnp.ones(3, jnp.float32)}
    opt = optax.chain(optax.clip_by_global_norm(1e6), soap(0.05, weight_decay=0.0))

    def body(carry, _):
        p, s = carry
        u, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, u), s), loss(p)

    (params, state), losses = jax.lax.scan(body, (params, opt.init(params)), length=300)
    assert float(losses[-1]) < 1e-3 * float(losses[0])
    soap_state = state[1][0]
    assert soap_state.q["w"][0].dtype == jnp.float32  # linear algebra in the params' dtype
    assert soap_state.mu["w"].dtype == jnp.float32


def test_weight_decay_needs_params():
    opt = soap(0.1)
    state = opt.init(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="params"):
        jax.eval_shape(opt.update, jnp.ones((2, 2)), state)  # traced only: raises at trace time


def test_docstring_examples_run():
    failures, _ = doctest.testmod(_soap, verbose=False, optionflags=doctest.ELLIPSIS)
    assert failures == 0
