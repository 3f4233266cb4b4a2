"""Dense quasi-Newton methods (BFGS, self-scaled BFGS, self-scaled Broyden) as optax transformations.

The direction is ``p = -H g`` with a dense inverse-Hessian approximation ``H`` (n x n, n = number
of parameters, in the parameters' dtype); the step length comes from optax's strong-Wolfe zoom line
search (:func:`optax.scale_by_zoom_linesearch`, Nocedal & Wright algorithms 3.5/3.6), chained
after the direction exactly as :func:`optax.lbfgs` does. So ``update`` needs the loss on the same
batch: ``update(grad, state, params, value=f, grad=g, value_fn=f_fn)``.

Why not ``optax.lbfgs``: it keeps a limited memory of (s, y) pairs and has no self-scaling; the
high-accuracy PINN results (Urban et al. 2024, Kiyani et al. 2025) come from the *dense* update of
the whole Broyden class with the self-scaling factor ``tau_k`` and the Broyden parameter
``phi_k`` chosen per iteration, which needs the full ``H``. For networks of a few thousand
parameters ``H`` costs a few tens of MB and O(n^2) work per iteration, small next to the loss.
L-BFGS is still offered through :func:`lbfgs` (a thin alias of ``optax.lbfgs``).

The update (Urban, Stefanou & Pons 2024, eqs. 9-23; the same family as Al-Baali 1998), with
``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``, ``rho = 1 / (y.s)``, ``Hy = H y``:

    H+ = (H - Hy Hy^T / (y.Hy) + phi (y.Hy) v v^T) / tau + rho s s^T,   v = rho s - Hy / (y.Hy)

* ``bfgs``: tau = 1, phi = 1.
* ``ssbfgs``: phi = 1, tau = min(1, 1 / b) (Al-Baali's choice), b = -alpha rho s.g_k.
* ``ssbroyden``: h = rho y.Hy, a = b h - 1, rho_m = min(1, h (1 - sqrt(|a| / (1 + a)))),
  theta_m = (rho_m - 1) / a, theta_p = 1 / rho_m, theta = max(theta_m, min(theta_p, (1 - b) / b)),
  sigma = 1 + theta a, phi = (1 - theta) / sigma, and
  tau = min(min(1, 1/b) |sigma|^(1/(1-n)), sigma) if theta <= 0 else min(1, 1/b) min(|sigma|^(1/(1-n)), 1/theta).

On the first update (H still the identity) and ``initial_scale=True``, BFGS and SSBFGS use
``tau = rho y.y`` (so ``H0 = (y.s)/(y.y) I``, Nocedal & Wright eq. 6.20) and SSBroyden uses
``tau = h / (1 + a theta)``, as in the authors' code. The first direction of a fresh state is
``-g`` scaled to at most unit length (as ``optax.lbfgs`` does), so the first line search does not
start from an absurd step.

Safeguards (never a NaN from the update itself):

* the update is skipped (H kept) when the curvature condition fails, ``y.s <= 1e-12 |y| |s|``
  (a line search that stopped without a Wolfe point can give this), when ``b <= 0`` (the step was
  not a descent step), or when any entry of ``H+`` is not finite; skips are counted in the state;
* if ``-H g`` is not a descent direction (``g.Hg <= 0``, an indefinite ``H`` after round-off),
  ``H`` is reset to the identity and the step is ``-g`` (scaled as the first step); resets are counted.

Resampling: the (s, y) pair is only meaningful when both gradients come from the same loss. After
the collocation points change, call :func:`restart_pairs` on the optimizer state: ``H`` is kept
(it still describes the curvature of the network) but the next update forms no pair, and the line
search's cached value is cleared. This is what the authors' code does between batches (it keeps
the inverse Hessian and restarts the line search).

References:
  Urban, Stefanou & Pons, "Unveiling the optimization process of physics informed neural networks:
  how accurate and competitive can PINNs be?", J. Comput. Phys. (2024), arXiv:2405.04230.
  Kiyani, Shukla, Urban, Darbon & Karniadakis, "Which optimizer works best for physics-informed
  neural networks and Kolmogorov-Arnold networks?", arXiv:2501.16371 (2025).
  Al-Baali, "Numerical experience with a class of self-scaling quasi-Newton algorithms",
  J. Optim. Theory Appl. 96 (1998).
  Nocedal & Wright, Numerical Optimization, 2nd ed. (2006), ch. 3 and 6.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

__all__ = [
    "QuasiNewtonState",
    "QN_METHODS",
    "scale_by_quasi_newton",
    "quasi_newton",
    "bfgs",
    "ssbfgs",
    "ssbroyden",
    "lbfgs",
    "restart_pairs",
    "inverse_hessian_update",
]

QN_METHODS = ("bfgs", "ssbfgs", "ssbroyden")
_CURVATURE_RTOL = 1e-12


class QuasiNewtonState(NamedTuple):
    """State of :func:`scale_by_quasi_newton`.

    Attributes:
      count: int32, number of ``update`` calls.
      n_updates: int32, inverse-Hessian updates made (0: ``H`` is still the identity).
      n_skipped: int32, updates skipped by the safeguards (curvature, descent, non-finite).
      n_resets: int32, resets of ``H`` to the identity (non-descent direction).
      has_pair: bool, the stored point and gradient belong to the current loss (False on a fresh
        state and after :func:`restart_pairs`).
      inv_hessian: (n, n) inverse-Hessian approximation ``H`` over the flattened parameters.
      last_params, last_grad, last_direction: (n,) flattened x_k, g_k and the direction p_k of the
        last call (not named ``grad``: ``optax.value_and_grad_from_state`` looks that name up).
    """

    count: jax.Array
    n_updates: jax.Array
    n_skipped: jax.Array
    n_resets: jax.Array
    has_pair: jax.Array
    inv_hessian: jax.Array
    last_params: jax.Array
    last_grad: jax.Array
    last_direction: jax.Array


def inverse_hessian_update(h, s, y, g_old, alpha, method: str, first: bool | jax.Array, initial_scale: bool = True):
    """One inverse-Hessian update of the Broyden family (see the module docstring for the formulas).

    Args:
      h: (n, n) current inverse Hessian approximation H_k.
      s, y: (n,) step x_{k+1} - x_k and gradient change g_{k+1} - g_k.
      g_old: (n,) gradient g_k at the start of the step.
      alpha: step length of the line search (s = alpha p_k).
      method: "bfgs", "ssbfgs" or "ssbroyden".
      first: this is the first update (H_k is the identity): the initial scaling applies.
      initial_scale: scale the identity on the first update (see the module docstring).

    Returns:
      (H_{k+1}, ok): ok is False where a safeguard (curvature, descent, non-finite) rejects the
      update; H_{k+1} is then H_k.
    """
    if method not in QN_METHODS:
        raise ValueError(f"unknown quasi-Newton method {method!r} (known: {', '.join(QN_METHODS)})")
    n = h.shape[0]
    ys = jnp.dot(y, s)
    curvature_ok = ys > _CURVATURE_RTOL * jnp.linalg.norm(y) * jnp.linalg.norm(s)
    rho = 1.0 / jnp.where(curvature_ok, ys, 1.0)
    hy = h @ y
    yhy = jnp.dot(y, hy)
    yhy_safe = jnp.where(yhy > 0, yhy, 1.0)
    hh = yhy * rho
    b = -alpha * rho * jnp.dot(s, g_old)
    b_safe = jnp.where(b > 0, b, 1.0)
    first = jnp.asarray(first) & initial_scale
    if method in ("bfgs", "ssbfgs"):
        if method == "bfgs":
            tau = jnp.ones((), h.dtype)
        else:
            tau = jnp.minimum(1.0, 1.0 / b_safe)
        tau = jnp.where(first, rho * jnp.dot(y, y), tau)
        hs, hys, hyhy = h / tau, hy / tau, yhy / tau
        h_new = hs - rho * (jnp.outer(hys, s) + jnp.outer(s, hys)) + rho * (1.0 + hyhy * rho) * jnp.outer(s, s)
        descent_ok = b > 0 if method == "ssbfgs" else jnp.asarray(True)
    else:
        a = b_safe * hh - 1.0
        a_safe = jnp.where(a == 0, jnp.finfo(h.dtype).tiny, a)
        rho_m = jnp.minimum(1.0, hh * (1.0 - jnp.sqrt(jnp.abs(a) / (1.0 + a))))
        theta_m = (rho_m - 1.0) / a_safe
        theta_p = 1.0 / rho_m
        theta = jnp.maximum(theta_m, jnp.minimum(theta_p, (1.0 - b_safe) / b_safe))
        sigma = 1.0 + theta * a
        sigma_n = jnp.abs(sigma) ** (1.0 / (1.0 - n))
        scale_b = jnp.minimum(1.0, 1.0 / b_safe)
        tau = jnp.where(theta <= 0, jnp.minimum(scale_b * sigma_n, sigma),
                        scale_b * jnp.minimum(sigma_n, 1.0 / jnp.where(theta > 0, theta, 1.0)))
        tau = jnp.where(first, hh / sigma, tau)
        phi = (1.0 - theta) / sigma
        v = rho * s - hy / yhy_safe
        h_new = (h - jnp.outer(hy, hy) / yhy_safe + phi * yhy * jnp.outer(v, v)) / tau + rho * jnp.outer(s, s)
        descent_ok = (b > 0) & (yhy > 0) & (1.0 + a > 0) & (tau > 0)
    ok = curvature_ok & descent_ok & jnp.all(jnp.isfinite(h_new))
    return jnp.where(ok, h_new, h), ok


def scale_by_quasi_newton(method: str = "ssbroyden", initial_scale: bool = True) -> optax.GradientTransformation:
    """Turn gradients into the quasi-Newton direction ``-H g`` (to be chained with a line search).

    The inverse Hessian is updated from the previous call's point and gradient before the new
    direction is formed, so when a line search follows, the update uses the accepted step.

    Args:
      method: "bfgs", "ssbfgs" or "ssbroyden" (see the module docstring).
      initial_scale: scale the identity on the first update (Nocedal & Wright eq. 6.20 for BFGS,
        ``tau = h / (1 + a theta)`` for SSBroyden).

    Returns:
      An optax transformation whose ``update(grads, state, params)`` returns the direction
      (a descent direction; multiply by a step length).
    """
    if method not in QN_METHODS:
        raise ValueError(f"unknown quasi-Newton method {method!r} (known: {', '.join(QN_METHODS)})")

    def init_fn(params):
        flat, _ = ravel_pytree(params)
        n, dtype = flat.shape[0], flat.dtype
        zero = jnp.zeros((), jnp.int32)
        return QuasiNewtonState(count=zero, n_updates=zero, n_skipped=zero, n_resets=zero,
                                has_pair=jnp.asarray(False), inv_hessian=jnp.eye(n, dtype=dtype),
                                last_params=jnp.zeros_like(flat), last_grad=jnp.zeros_like(flat),
                                last_direction=jnp.zeros_like(flat))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("scale_by_quasi_newton needs params")
        g, unravel = ravel_pytree(updates)
        x, _ = ravel_pytree(params)
        h = state.inv_hessian
        s, y = x - state.last_params, g - state.last_grad
        p_norm = jnp.linalg.norm(state.last_direction)
        alpha = jnp.linalg.norm(s) / jnp.where(p_norm > 0, p_norm, 1.0)
        h_new, ok = inverse_hessian_update(h, s, y, state.last_grad, alpha, method, state.n_updates == 0, initial_scale)
        pair = state.has_pair
        h = jnp.where(pair, h_new, h)
        n_updates = state.n_updates + (pair & ok).astype(jnp.int32)
        n_skipped = state.n_skipped + (pair & ~ok).astype(jnp.int32)
        p = -(h @ g)
        descent = (jnp.dot(p, g) < 0) | ~jnp.any(g != 0)  # a zero gradient is no reason to reset
        first_step = -g * jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.linalg.norm(g), jnp.finfo(g.dtype).tiny))
        fresh = (n_updates == 0) | ~descent
        p = jnp.where(fresh, first_step, p)
        reset = ~descent & (n_updates > 0)
        h = jnp.where(reset, jnp.eye(h.shape[0], dtype=h.dtype), h)
        new_state = QuasiNewtonState(count=state.count + 1, n_updates=jnp.where(reset, 0, n_updates),
                                     n_skipped=n_skipped, n_resets=state.n_resets + reset.astype(jnp.int32),
                                     has_pair=jnp.asarray(True), inv_hessian=h, last_params=x, last_grad=g,
                                     last_direction=p)
        return unravel(p), new_state

    return optax.GradientTransformation(init_fn, update_fn)


def quasi_newton(method: str = "ssbroyden", max_linesearch_steps: int = 30, initial_scale: bool = True,
                 curv_rtol: float = 0.9, slope_rtol: float = 1e-4) -> optax.GradientTransformationExtraArgs:
    """Quasi-Newton direction + strong-Wolfe zoom line search (initial step 1).

    Args:
      method: "bfgs", "ssbfgs" or "ssbroyden".
      max_linesearch_steps: at most this many function evaluations per line search.
      initial_scale: see :func:`scale_by_quasi_newton`.
      curv_rtol, slope_rtol: Wolfe constants c2 and c1 (0 < c1 < c2 < 1).

    Returns:
      An optax transformation; ``update(grad, state, params, value=, grad=, value_fn=)``.

    Examples:
      >>> import jax, jax.numpy as jnp, optax
      >>> from pinns.optim import ssbroyden
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2 * jnp.arange(1.0, 4.0))
      >>> opt = ssbroyden()
      >>> x = jnp.zeros(3)
      >>> state = opt.init(x)
      >>> for _ in range(10):
      ...     value, grad = optax.value_and_grad_from_state(f)(x, state=state)
      ...     step, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=f)
      ...     x = optax.apply_updates(x, step)
      >>> bool(jnp.allclose(x, 1.0, atol=1e-5))
      True
    """
    return optax.chain(
        scale_by_quasi_newton(method, initial_scale),
        optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps, initial_guess_strategy="one",
                                       curv_rtol=curv_rtol, slope_rtol=slope_rtol),
    )


def bfgs(**kwargs) -> optax.GradientTransformationExtraArgs:
    """BFGS with a dense inverse Hessian and a strong-Wolfe line search (see :func:`quasi_newton`)."""
    return quasi_newton("bfgs", **kwargs)


def ssbfgs(**kwargs) -> optax.GradientTransformationExtraArgs:
    """Self-scaled BFGS, Al-Baali's tau (Urban et al. 2024, eq. 11); see :func:`quasi_newton`."""
    return quasi_newton("ssbfgs", **kwargs)


def ssbroyden(**kwargs) -> optax.GradientTransformationExtraArgs:
    """Self-scaled Broyden (Urban et al. 2024, eqs. 13-23); see :func:`quasi_newton`."""
    return quasi_newton("ssbroyden", **kwargs)


def lbfgs(memory_size: int = 50, max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
    """L-BFGS: ``optax.lbfgs`` with a strong-Wolfe zoom line search (initial step 1)."""
    return optax.lbfgs(memory_size=memory_size, linesearch=optax.scale_by_zoom_linesearch(
        max_linesearch_steps=max_linesearch_steps, initial_guess_strategy="one"))


def restart_pairs(opt_state, restart=True):
    """The optimizer state after the loss changed (new collocation points, new weights).

    ``H`` is kept; the next update forms no (s, y) pair across the two losses, and the line
    search's cached value and gradient are cleared so they are recomputed on the new loss. Works on
    any state (chained or not): fields it does not know are left alone. ``restart`` may be a traced
    bool (under ``jit``/``lax.scan``): where False the state is returned unchanged.
    """
    restart = jnp.asarray(restart)

    def fix(node):
        if isinstance(node, QuasiNewtonState):
            return node._replace(has_pair=node.has_pair & ~restart)
        if isinstance(node, optax.ScaleByZoomLinesearchState):
            return node._replace(value=jnp.where(restart, jnp.inf, node.value))
        if isinstance(node, optax.ScaleByLBFGSState):  # drop the memory: its pairs belong to the old loss
            keep = ~restart
            return node._replace(count=jnp.where(keep, node.count, 0),
                                 weights_memory=jnp.where(keep, node.weights_memory, 0.0))
        return node

    leaf = lambda n: isinstance(n, (QuasiNewtonState, optax.ScaleByZoomLinesearchState,  # noqa: E731
                                    optax.ScaleByLBFGSState))
    return jax.tree_util.tree_map(fix, opt_state, is_leaf=leaf)
