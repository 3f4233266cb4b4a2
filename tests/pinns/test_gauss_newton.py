"""Levenberg-Marquardt (`pinns.optim.levenberg_marquardt`): closed forms, the damping rule, a NumPy transcription."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns.optim import LevenbergMarquardtState, levenberg_marquardt, nielsen_damping, restart_damping

pytestmark = pytest.mark.usefixtures("x64")


def run_lm(f, x, iters, **kwargs):
    opt = levenberg_marquardt(**kwargs)
    state = opt.init(x)

    @jax.jit
    def step(x, state):
        upd, state = opt.update(x, state, x, residual_fn=f, residuals=f(x), jacobian=jax.jacfwd(f)(x))
        return optax.apply_updates(x, upd), state

    for _ in range(iters):
        x, state = step(x, state)
    return x, state


def test_one_nearly_undamped_step_solves_linear_least_squares():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=40)
    f = lambda x: jnp.asarray(a) @ x - jnp.asarray(b)  # noqa: E731
    x, state = run_lm(f, jnp.zeros(6), 1, damping_init=1e-14)
    exact = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(np.asarray(x), exact, rtol=1e-10, atol=1e-12)
    assert bool(state.accepted) and int(state.tries) == 1
    np.testing.assert_allclose(float(state.rho), 1.0, atol=1e-8)  # a linear model predicts exactly


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("scaling", ["identity", "diag"])
def test_rosenbrock_as_residuals_converges(solver, scaling):
    f = lambda x: jnp.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]])  # noqa: E731
    x, state = run_lm(f, jnp.array([-1.2, 1.0]), 60, solver=solver, scaling=scaling)
    np.testing.assert_allclose(np.asarray(x), [1.0, 1.0], atol=1e-10)
    assert int(state.n_accepted) >= 10 and np.all(np.isfinite(np.asarray(x)))


def test_damping_rule_raises_lambda_on_rejection_and_lowers_it_on_a_good_step():
    lam, nu = nielsen_damping(1.0, 2.0, 1.0, True)  # perfect step: lam / 3, nu back to 2
    assert float(lam) == pytest.approx(1 / 3) and float(nu) == 2.0
    lam, nu = nielsen_damping(1.0, 2.0, 0.5, True)  # rho = 1/2: lam unchanged
    assert float(lam) == pytest.approx(1.0)
    lam, nu = nielsen_damping(1.0, 4.0, 0.0, False)  # rejected: lam * nu, nu doubled
    assert float(lam) == 4.0 and float(nu) == 8.0
    # through update: an undamped Gauss-Newton step overshoots on this strongly curved residual and is rejected
    f = lambda x: jnp.stack([jnp.exp(3 * x[0]) - 1.0, 0.1 * x[1]])  # noqa: E731
    opt = levenberg_marquardt(damping_init=1e-3)
    x = jnp.array([-1.0, 1.0])
    state = opt.init(x)
    _, state = opt.update(x, state, x, residual_fn=f, residuals=f(x), jacobian=jax.jacfwd(f)(x))
    g = jax.jacfwd(f)(x)
    lam0 = 1e-3 * float(jnp.max(jnp.diag(g.T @ g)))
    assert int(state.tries) > 1 and bool(state.accepted)
    assert float(state.damping) > lam0  # raised by the rejections before the accepted trial


def test_rank_deficient_jacobian_gives_no_nan():
    # duplicated and zero columns: J^T J is singular; a tiny damping still gives a finite step
    f = lambda x: jnp.stack([x[0] + x[1] - 1.0, 2 * (x[0] + x[1]) - 2.5, 0 * x[2]])  # noqa: E731
    for scaling in ("identity", "diag"):
        x, state = run_lm(f, jnp.zeros(3), 20, damping_init=1e-16, scaling=scaling)
        assert np.all(np.isfinite(np.asarray(x))) and np.isfinite(float(state.damping))
        r = np.asarray(f(x))
        assert r @ r == pytest.approx(0.05, rel=1e-8)  # the least-squares minimum: x0 + x1 = 1.2


def numpy_lm_update(f, jac, x, lam, nu, tau, max_tries=8):
    """The update of the module docstring, transcribed in NumPy (dense, D = I)."""
    r, J = np.asarray(f(x)), np.asarray(jac(x))
    G, g, loss = J.T @ J, J.T @ r, r @ r
    lam = tau * np.max(np.diag(G)) if lam < 0 else lam
    for _ in range(max_tries):
        delta = np.linalg.solve(G + lam * np.eye(len(x)), -g)
        pred = -(2 * g @ delta + delta @ G @ delta)
        r_new = np.asarray(f(x + delta))
        rho = (loss - r_new @ r_new) / pred
        if rho > 0:
            return x + delta, lam * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
        lam, nu = lam * nu, 2 * nu
    return x, lam, nu


def test_a_small_case_matches_a_numpy_transcription():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(5, 3))
    f = lambda x: jnp.tanh(jnp.asarray(w) @ x) - 0.3  # noqa: E731
    opt = levenberg_marquardt(damping_init=1e-3)
    x = jnp.asarray(rng.normal(size=3))
    state, xn, lam, nu = opt.init(x), np.asarray(x), -1.0, 2.0
    update = jax.jit(lambda x, s: opt.update(x, s, x, residual_fn=f, residuals=f(x), jacobian=jax.jacfwd(f)(x)))
    for _ in range(6):
        upd, state = update(x, state)
        x = optax.apply_updates(x, upd)
        xn, lam, nu = numpy_lm_update(f, jax.jacfwd(f), xn, lam, nu, 1e-3)
        np.testing.assert_allclose(np.asarray(x), xn, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(float(state.damping), lam, rtol=1e-10)


def test_restart_keeps_lambda_after_an_accepted_step_and_resets_it_after_a_rejection():
    base = LevenbergMarquardtState(*[jnp.asarray(v) for v in (3, 2, 5, 0.25, 8.0, 0.5, 1e-3, True, 1, 0)])
    kept = restart_damping((base, optax.EmptyState()))[0]
    assert float(kept.damping) == 0.25 and float(kept.nu) == 2.0
    stuck = restart_damping(base._replace(accepted=jnp.asarray(False)))
    assert float(stuck.damping) == -1.0  # set again from the new batch's diag(J^T J) at the next call
    same = restart_damping(base, restart=False)
    assert float(same.nu) == 8.0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="scaling"):
        levenberg_marquardt(scaling="marquardt")
    with pytest.raises(ValueError, match="solver"):
        levenberg_marquardt(solver="qr")
    with pytest.raises(ValueError, match="damping_init"):
        levenberg_marquardt(damping_init=0.0)
