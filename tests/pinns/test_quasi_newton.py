"""Dense quasi-Newton optimizers (BFGS, SSBFGS, SSBroyden) and the strong-Wolfe line search."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns.optim import _quasi_newton
from pinns.optim import QuasiNewtonState, inverse_hessian_update, quasi_newton, restart_pairs, scale_by_quasi_newton

pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)

METHODS = ("bfgs", "ssbfgs", "ssbroyden")


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _run(opt, f, x, n):
    """n iterations of a line-search optimizer; returns the final x, state and per-step records."""
    state = opt.init(x)

    @jax.jit
    def step(x, state):
        value, grad = optax.value_and_grad_from_state(f)(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=f)
        return optax.apply_updates(x, updates), state, value, grad, updates

    records = []
    for _ in range(n):
        x_new, state, value, grad, updates = step(x, state)
        records.append((x, value, grad, state[0].last_direction, updates))
        x = x_new
    return x, state, records


@pytest.fixture(scope="module")
def rosenbrock_run():
    """method -> `_run` of 150 iterations on the 6-D Rosenbrock function from x = -1, each run once for the
    module (compiling a line-search step costs seconds; the tests below read the same run)."""
    runs = {}

    def get(method):
        if method not in runs:
            runs[method] = _run(quasi_newton(method), _rosenbrock, jnp.full(6, -1.0), 150)
        return runs[method]

    return get


def test_doctest():
    failures, _ = doctest.testmod(_quasi_newton, verbose=False)
    assert failures == 0


def _exact_line_search_errors(a, b, steps, initial_scale):
    tx = scale_by_quasi_newton("bfgs", initial_scale=initial_scale)
    x_star = jnp.linalg.solve(a, b)
    x = jnp.zeros(a.shape[0])
    state = tx.init(x)
    errors = []
    for _ in range(steps):
        g = a @ x - b
        p, state = tx.update(g, state, x)
        alpha = -jnp.dot(g, p) / jnp.dot(p, a @ p)  # exact minimiser along p
        x = x + alpha * p
        errors.append(float(jnp.linalg.norm(x - x_star) / jnp.linalg.norm(x_star)))
    return errors


def test_bfgs_exact_line_search_minimises_quadratic_in_n_steps():
    # Quadratic termination: BFGS with exact line searches and a fixed H0 on a convex quadratic in
    # R^n reaches the minimiser in n steps (Nocedal & Wright thm. 6.4), and not before.
    n = 8
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    a = jnp.asarray(q @ np.diag(np.logspace(0, 3, n)) @ q.T)
    b = jnp.asarray(rng.normal(size=n))
    errors = _exact_line_search_errors(a, b, n, initial_scale=False)
    assert errors[n - 2] > 1e-2  # one step short it is still far (here 0.23)
    assert errors[n - 1] < 1e-12  # 1e-12: round-off of n rank-two updates with cond(A) = 1e3 is ~1e-14
    # With H0 rescaled at the first update (eq. 6.20) termination is exact in exact arithmetic too,
    # but the rescaled first pair costs accuracy in float64 (measured 2.4e-8 at step n, and the
    # same 1.2e-8 in a plain NumPy transcription); one more step reaches round-off.
    scaled = _exact_line_search_errors(a, b, n + 1, initial_scale=True)
    assert scaled[n - 1] < 1e-6 and scaled[n] < 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_rosenbrock_converges(method, rosenbrock_run):
    x, state, _ = rosenbrock_run(method)
    # the minimiser is x = 1; 1e-8 is far above float64 round-off and far below any stall
    np.testing.assert_allclose(x, np.ones(6), atol=1e-8)
    assert int(state[0].n_updates) > 20


@pytest.mark.parametrize("method", METHODS)
def test_line_search_satisfies_strong_wolfe(method, rosenbrock_run):
    import inspect

    c1, c2 = 1e-4, 0.9  # the Wolfe constants of the shared run: quasi_newton's defaults
    defaults = inspect.signature(quasi_newton).parameters
    assert (defaults["slope_rtol"].default, defaults["curv_rtol"].default) == (c1, c2)
    _, _, records = rosenbrock_run(method)
    checked = 0
    for x, value, grad, direction, step in records[:40]:
        if value < 1e-8:  # near the minimum optax switches to the approximate (Hager-Zhang) decrease test
            break
        alpha = float(jnp.linalg.norm(step) / jnp.linalg.norm(direction))
        slope = float(jnp.dot(grad, direction))
        assert slope < 0  # a descent direction
        new_value, new_grad = jax.value_and_grad(_rosenbrock)(x + step)
        assert float(new_value) <= float(value) + c1 * alpha * slope + 1e-12 * abs(float(value))
        assert abs(float(jnp.dot(new_grad, direction))) <= c2 * abs(slope) * (1 + 1e-9)
        checked += 1
    assert checked >= 10


def _numpy_update(h, s, y, g, alpha, method, first):
    """Independent NumPy transcription of Urban et al. (2024) eqs. 9-23 (product form for BFGS)."""
    n = len(s)
    ys = y @ s
    rho = 1.0 / ys
    eye = np.eye(n)
    b = -alpha * rho * (s @ g)
    if method in ("bfgs", "ssbfgs"):
        tau = 1.0 if method == "bfgs" else min(1.0, 1.0 / b)
        if first:
            tau = (y @ y) / ys
        h = h / tau
        return (eye - rho * np.outer(s, y)) @ h @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    hy = h @ y
    yhy = y @ hy
    hk = yhy / ys
    ak = b * hk - 1.0
    rho_minus = min(1.0, hk * (1.0 - np.sqrt(abs(ak) / (1.0 + ak))))
    theta_minus = (rho_minus - 1.0) / ak
    theta_plus = 1.0 / rho_minus
    theta = max(theta_minus, min(theta_plus, (1.0 - b) / b))
    sigma = 1.0 + theta * ak
    if first:
        tau = hk / sigma
    elif theta <= 0:
        tau = min(min(1.0, 1.0 / b) * abs(sigma) ** (1.0 / (1.0 - n)), sigma)
    else:
        tau = min(1.0, 1.0 / b) * min(abs(sigma) ** (1.0 / (1.0 - n)), 1.0 / theta)
    phi = (1.0 - theta) / sigma
    v = s / ys - hy / yhy
    return (h - np.outer(hy, hy) / yhy + phi * yhy * np.outer(v, v)) / tau + np.outer(s, s) / ys


@pytest.mark.parametrize("method", METHODS)
def test_update_matches_numpy_transcription(method, rosenbrock_run):
    # the (s, y, g, alpha) sequence of a real run on Rosenbrock, replayed through both implementations
    records = rosenbrock_run(method)[2][:8]
    h_jax, h_np = jnp.eye(6), np.eye(6)
    for k in range(len(records) - 1):
        x0, _, g0, p0, _ = records[k]
        x1, _, g1, _, _ = records[k + 1]
        s, y = np.asarray(x1 - x0), np.asarray(g1 - g0)
        alpha = np.linalg.norm(s) / np.linalg.norm(np.asarray(p0))
        h_jax, ok = inverse_hessian_update(h_jax, jnp.asarray(s), jnp.asarray(y), g0, alpha, method, k == 0)
        assert bool(ok)
        h_np = _numpy_update(h_np, s, y, np.asarray(g0), alpha, method, k == 0)
        # 1e-10 relative: the two forms differ only in the order of float64 operations
        np.testing.assert_allclose(np.asarray(h_jax), h_np, rtol=1e-10, atol=1e-10 * np.abs(h_np).max())


@pytest.mark.parametrize("method", METHODS)
def test_failed_curvature_condition_skips_update_without_nan(method):
    tx = scale_by_quasi_newton(method)
    x0 = jnp.zeros(3)
    state = tx.init(x0)
    _, state = tx.update(jnp.asarray([1.0, 0.0, 0.0]), state, x0)
    # a step along -g whose gradient change points the other way: y.s < 0 (negative curvature)
    x1 = jnp.asarray([-0.5, 0.0, 0.0])
    p, state2 = tx.update(jnp.asarray([2.0, 0.0, 0.0]), state, x1)
    assert int(state2.n_skipped) == 1 and int(state2.n_updates) == 0
    np.testing.assert_array_equal(np.asarray(state2.inv_hessian), np.eye(3))
    assert bool(jnp.all(jnp.isfinite(p))) and float(jnp.dot(p, jnp.asarray([2.0, 0.0, 0.0]))) < 0
    # a zero step (line search that found nothing): also skipped, still finite
    _, state3 = tx.update(jnp.asarray([2.0, 0.0, 0.0]), state2, x1)
    assert int(state3.n_skipped) == 2
    assert bool(jnp.all(jnp.isfinite(state3.inv_hessian)))


def test_restart_pairs_keeps_hessian_and_forms_no_pair():
    opt = quasi_newton("ssbroyden")
    _, state, _ = _run(opt, _rosenbrock, jnp.full(6, -1.0), 5)  # 6-D: the step compiled for rosenbrock_run
    restarted = restart_pairs(state)
    assert not bool(restarted[0].has_pair) and np.isinf(float(restarted[1].value))
    np.testing.assert_array_equal(np.asarray(restarted[0].inv_hessian), np.asarray(state[0].inv_hessian))
    # the next update forms no (s, y) pair: H unchanged, counters unchanged
    x = jnp.full(6, 0.3)
    _, after = scale_by_quasi_newton("ssbroyden").update(jax.grad(_rosenbrock)(x), restarted[0], x)
    np.testing.assert_array_equal(np.asarray(after.inv_hessian), np.asarray(state[0].inv_hessian))
    assert int(after.n_updates) == int(state[0].n_updates) and int(after.n_skipped) == int(state[0].n_skipped)
    # restart=False (traced flag) leaves the state as it is
    same = jax.jit(restart_pairs)(state, False)
    assert bool(same[0].has_pair) == bool(state[0].has_pair)
    assert isinstance(same[0], QuasiNewtonState)


def test_works_inside_lax_scan():
    opt = quasi_newton("ssbfgs")
    x = jnp.full(4, -1.0)

    def body(carry, _):
        x, state = carry
        value, grad = optax.value_and_grad_from_state(_rosenbrock)(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=_rosenbrock)
        return (optax.apply_updates(x, updates), state), value

    (x, _), values = jax.jit(lambda c: jax.lax.scan(body, c, None, length=120))((x, opt.init(x)))
    assert bool(jnp.all(jnp.isfinite(values)))
    np.testing.assert_allclose(x, np.ones(4), atol=1e-8)
