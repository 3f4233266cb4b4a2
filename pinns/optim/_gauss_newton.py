"""Gauss-Newton-type training: Levenberg-Marquardt, dense (Cholesky) or matrix-free (CG), as optax transformations.

A PINN loss is a sum of squared residuals, ``L(theta) = |r(theta)|^2`` with ``r`` in R^N stacking every residual
equation at every collocation point (rows scaled by sqrt(term weight / term size), so that L is the trainer's
weighted mean-square loss; `pinns.trainer.Trainer.residual_vector`). With ``J = dr/dtheta`` (N x P), ``g = J^T r``
and the Gauss-Newton matrix ``G = J^T J``, one Levenberg-Marquardt iteration solves

    (G + lam D) delta = -g,       D = I ("identity") or diag(G) ("diag", Marquardt's scaling)

and judges the step by the gain ratio of actual to predicted decrease of the Gauss-Newton model
``m(delta) = |r + J delta|^2``:

    pred = L - m(delta) = -(2 g.delta + delta^T G delta),    rho = (L(theta) - L(theta + delta)) / pred.

Damping rule (Nielsen's, Madsen, Nielsen & Tingleff 2004, "Methods for non-linear least squares problems",
section 3.2): accepted (rho > 0) -> lam <- lam max(1/3, 1 - (2 rho - 1)^3), nu <- 2; rejected -> lam <- lam nu,
nu <- 2 nu. The first lam is ``damping_init * max(diag(G))`` (Madsen's tau). A rejected trial costs one
factorisation and one residual evaluation, not a new Jacobian: ``update`` keeps G and g and retries with the
larger lam inside one call, up to ``max_tries`` times (a call that exhausts them returns a zero update and the
raised lam). Escalation when the Cholesky factorisation of ``G + lam D`` fails (non-finite factor: G is
rank-deficient or too ill-conditioned for this lam in this dtype): the trial counts as rejected and lam is raised
by the same rule, so the next trial is better conditioned; a zero predicted decrease, or a non-finite trial
loss, is a rejection too. So ``update`` never returns a NaN step.

Why the dense solve is written here rather than taken from optimistix or jaxopt: both build J by forward mode
over the P parameter directions (`jax.jacfwd` / a lineax Jacobian operator), about P forward passes of the whole
batch with its second derivatives. A PINN residual is one small function per point, so its Jacobian is cheapest
as one reverse pass per point (`jax.vmap` of `jax.jacrev`), which the trainer computes and hands to ``update``;
and the step-by-step trainer (point redraws, checkpoints, RBA rows, per-iteration metrics) needs the damping state
between calls, which their ``least_squares`` drivers keep inside one solve. ``scripts/bench_gauss_newton.py``
measures optimistix's ``LevenbergMarquardt`` on the same problem beside this one: on Burgers (3 x 30 MLP, 1981
parameters, 500 points, float64, one core of the idle machine) its step took 4.75 s against 0.26 s here (18x), and
the per-point reverse Jacobian 8.4 ms against 2.4 s for ``jax.jacfwd`` (290x; the two agree to 4e-17). At 5000
points ``jax.jacfwd`` (and so optimistix's step) asks for 33 GB and fails on this 24 GB machine; the per-point
Jacobian takes 0.10 s, J^T J 0.50 s, the Cholesky factorisation 0.09 s and one whole update 0.80 s (one SSBroyden
iteration: 0.05 s).

Geodesic acceleration (``geodesic > 0``, Transtrum & Sethna 2012): the step is corrected by the second directional
derivative of r along delta, which lets the damping fall further where the Gauss-Newton model is good to first
order only. Measured on Burgers from the end of 2000 Adam steps (5000 points, 40 iterations on one batch): loss
8.3e-2 -> 8.0e-4 without, 3.0e-4 with (Nielsen), 2.5e-4 with the "decrease" rule; at 2400 steps (after 400 LM
iterations, 30 more iterations): 8.9e-8 -> 7.4e-8 without, 2.4e-8 with, for 1.3x the time per iteration.

Matrix-free variant (``solver="cg"``): ``(G + lam D) v`` is applied as ``J^T (J v) + lam D v`` with a `jax.jvp`
and a `jax.vjp` of ``residual_fn`` (no N x P matrix, no P x P matrix), solved by conjugate gradients
(`jax.scipy.sparse.linalg.cg`) to a relative tolerance ``cg_tol``, Jacobi-preconditioned when D is diag(G)
(the diagonal of G then comes from the caller, or is estimated from ``cg_probes`` Rademacher probes).
Use it for networks too large for a dense P x P system; it is slower per iteration at P ~ 2000.

References:
  Transtrum & Sethna, "Improvements to the Levenberg-Marquardt algorithm for nonlinear least-squares
    minimization", arXiv:1201.5885 (2012).
  Madsen, Nielsen & Tingleff, "Methods for non-linear least squares problems", 2nd ed., IMM DTU (2004).
  Marquardt, "An algorithm for least-squares estimation of nonlinear parameters", SIAM J. Appl. Math. 11 (1963).
  Mueller & Zeinhofer, "Achieving high accuracy with PINNs via energy natural gradients", ICML 2023,
    arXiv:2302.13163 (the same G with a line search instead of damping).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

__all__ = [
    "LevenbergMarquardtState",
    "gram",
    "levenberg_marquardt",
    "lm_trial",
    "nielsen_damping",
    "restart_damping",
]


class LevenbergMarquardtState(NamedTuple):
    """State of :func:`levenberg_marquardt`.

    Attributes:
      count: int32, ``update`` calls.
      n_accepted: int32, calls that moved the parameters.
      n_trials: int32, trial steps tried in all (accepted or not: each is one solve + one residual evaluation).
      damping: lam (< 0: not set yet; the first call sets it from max diag(G)).
      nu: the factor lam is multiplied by at the next rejection.
      rho: gain ratio of the last trial (NaN where the trial had no finite step).
      loss: loss after the last call (at the new point if accepted, else the old one).
      accepted: the last call moved the parameters.
      tries: trials made by the last call.
      cg_iters: CG iterations of the last call (0 for the dense solver).
    """

    count: jax.Array
    n_accepted: jax.Array
    n_trials: jax.Array
    damping: jax.Array
    nu: jax.Array
    rho: jax.Array
    loss: jax.Array
    accepted: jax.Array
    tries: jax.Array
    cg_iters: jax.Array


def nielsen_damping(lam, nu, rho, accepted, rule: str = "nielsen"):
    """(lam, nu) after one trial by Nielsen's rule (see the module docstring); ``rule="decrease"``: lam / 3 after
    every accepted trial whatever its gain ratio (the rejection branch is the same)."""
    factor = 1.0 / 3.0 if rule == "decrease" else jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
    good = lam * factor
    lam_new = jnp.where(accepted, good, lam * nu)
    nu_new = jnp.where(accepted, 2.0, 2.0 * nu)
    return lam_new, nu_new


def lm_trial(g, G, lam, scale, return_solve: bool = False):
    """Dense damped Gauss-Newton step: (delta, pred, ok) for (G + lam diag(scale)) delta = -g by Cholesky.

    ``pred = -(2 g.delta + delta^T G delta)`` is the decrease the Gauss-Newton model predicts for L = |r|^2;
    ``ok`` is False where the factorisation failed (non-finite factor) or the step is not a predicted decrease.
    ``return_solve``: also return ``b -> (G + lam diag(scale))^-1 b`` with the same factor.
    """
    a = G + jnp.diag(lam * scale)
    chol = jnp.linalg.cholesky(a)
    solve = lambda b: jax.scipy.linalg.cho_solve((chol, True), b)  # noqa: E731
    delta = -solve(g)
    pred = -(2.0 * jnp.dot(g, delta) + jnp.dot(delta, G @ delta))
    ok = jnp.all(jnp.isfinite(delta)) & jnp.isfinite(pred) & (pred > 0)
    out = (jnp.where(ok, delta, 0.0), pred, ok)
    return (*out, solve) if return_solve else out


def _cg_trial(gauss_newton, g, diag, lam, scale, tol, maxiter):
    """Matrix-free damped step: CG on (J^T J + lam diag(scale)) delta = -g, Jacobi-preconditioned by
    diag(J^T J) + lam scale; (delta, pred, ok, iterations)."""
    matvec = lambda v: gauss_newton(v) + lam * scale * v  # noqa: E731
    jacobi = diag + lam * scale
    precond = lambda v: v / jnp.where(jacobi > 0, jacobi, 1.0)  # noqa: E731
    delta, iters = _cg(matvec, -g, precond, tol, maxiter)
    pred = -(2.0 * jnp.dot(g, delta) + jnp.dot(delta, gauss_newton(delta)))
    ok = jnp.all(jnp.isfinite(delta)) & jnp.isfinite(pred) & (pred > 0)
    return jnp.where(ok, delta, 0.0), pred, ok, iters


def _cg(matvec, b, precond, tol, maxiter):
    """Preconditioned conjugate gradients from x0 = 0 to |r| <= tol |b|; (x, iterations)."""
    x0 = jnp.zeros_like(b)
    z0 = precond(b)
    bnorm = jnp.linalg.norm(b)

    def cond(c):
        _, r, _, _, k = c
        return (k < maxiter) & (jnp.linalg.norm(r) > tol * bnorm)

    def body(c):
        x, r, z, p, k = c
        ap = matvec(p)
        rz = jnp.dot(r, z)
        alpha = rz / jnp.dot(p, ap)
        x, r = x + alpha * p, r - alpha * ap
        z_new = precond(r)
        beta = jnp.dot(r, z_new) / rz
        return x, r, z_new, z_new + beta * p, k + 1

    x, _, _, _, k = jax.lax.while_loop(cond, body, (x0, b, z0, z0, jnp.zeros((), jnp.int32)))
    return x, k


def _host_gram(j):
    j = np.asarray(j)
    return j.T @ j


def gram(J):
    """J^T J (P x P). On a CPU backend through NumPy's BLAS (a `jax.pure_callback`), faster than XLA's own float64
    product on one core (``scripts/bench_gauss_newton.py``): 504 ms against 558 ms for a 5000 x 1981 J and 59 ms
    against 94 ms for 500 x 1981 on the idle machine, 0.73 s against 1.51 s for 5000 x 1981 with the other core
    busy; elsewhere (GPU) XLA's product."""
    if jax.default_backend() != "cpu":
        return J.T @ J
    return jax.pure_callback(_host_gram, jax.ShapeDtypeStruct((J.shape[1], J.shape[1]), J.dtype), J)


def levenberg_marquardt(damping_init: float = 1e-3, scaling: str = "identity", max_tries: int = 8,
                        solver: str = "cholesky", cg_tol: float = 1e-10, cg_maxiter: int = 500,
                        min_damping: float = 0.0, max_damping: float = 1e10,
                        geodesic: float = 0.0, rule: str = "nielsen") -> optax.GradientTransformationExtraArgs:
    """Levenberg-Marquardt with Nielsen's damping rule (see the module docstring).

    Args:
      damping_init: tau, the first lam is tau * max(diag(G)) (Madsen et al. 2004 suggest 1e-6 .. 1 by how good
        the starting point is).
      scaling: "identity" (D = I, Levenberg) or "diag" (D = diag(G), Marquardt; zero columns get the largest
        diagonal entry times 1e-12 so D stays positive).
      max_tries: trial steps per call before it gives up for this call (zero update, lam raised).
      solver: "cholesky" (dense G = J^T J in the parameters' dtype) or "cg" (matrix-free conjugate gradients).
      cg_tol, cg_maxiter: CG stopping rule (relative residual, iterations) for ``solver="cg"``.
      min_damping: lam is never lowered below this (0: no floor).
      geodesic: 0 (off), or alpha > 0: geodesic acceleration (dense solver only): the step is delta + a / 2 with
        (G + lam D) a = -J^T r_vv, r_vv the second directional derivative of r along delta (a jvp of a jvp), and a
        trial whose 2 |a| / |delta| exceeds alpha is rejected (Transtrum & Sethna 2012 suggest alpha = 0.75).
      rule: "nielsen" (the module docstring), or "decrease": lam / 3 after every accepted step, whatever rho
        (more aggressive where rho stays near 1/2, where Nielsen's rule leaves lam as it is).
      max_damping: lam is never raised above this times max(diag(G)) (at a minimum every trial is rejected:
        lam stops growing there; a step of that damping is a gradient step of length |g| / lam).

    Returns:
      An optax transformation. ``update(updates, state, params, *, residual_fn, residuals, jacobian=None)``:
      ``residual_fn(params) -> (N,)`` on the current batch, ``residuals`` its value at ``params`` and
      ``jacobian`` the (N, P) Jacobian at ``params`` over ``jax.flatten_util.ravel_pytree(params)`` (needed by
      the dense solver, ignored by CG); ``updates`` is not read (pass the gradient or anything of the params'
      structure). The returned update is the accepted step or zeros.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> from pinns.optim import levenberg_marquardt
      >>> f = lambda x: jnp.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]])   # Rosenbrock as residuals
      >>> opt, x = levenberg_marquardt(), jnp.array([-1.2, 1.0])
      >>> state = opt.init(x)
      >>> for _ in range(30):
      ...     r, jac = f(x), jax.jacfwd(f)(x)
      ...     step, state = opt.update(x, state, x, residual_fn=f, residuals=r, jacobian=jac)
      ...     x = optax.apply_updates(x, step)
      >>> bool(jnp.allclose(x, 1.0, atol=1e-8))
      True
    """
    if scaling not in ("identity", "diag"):
        raise ValueError(f"scaling must be 'identity' or 'diag', got {scaling!r}")
    if rule not in ("nielsen", "decrease"):
        raise ValueError(f"rule must be 'nielsen' or 'decrease', got {rule!r}")
    if solver not in ("cholesky", "cg"):
        raise ValueError(f"solver must be 'cholesky' or 'cg', got {solver!r}")
    if not damping_init > 0 or max_tries < 1:
        raise ValueError("damping_init must be > 0 and max_tries >= 1")

    def init_fn(params):
        flat, _ = ravel_pytree(params)
        dtype = flat.dtype
        z = jnp.zeros((), jnp.int32)
        return LevenbergMarquardtState(count=z, n_accepted=z, n_trials=z, damping=jnp.asarray(-1.0, dtype),
                                       nu=jnp.asarray(2.0, dtype), rho=jnp.asarray(jnp.nan, dtype),
                                       loss=jnp.asarray(jnp.nan, dtype), accepted=jnp.asarray(False), tries=z,
                                       cg_iters=z)

    def update_fn(updates, state, params=None, *, residual_fn: Callable, residuals, jacobian=None, **_):
        if params is None:
            raise ValueError("levenberg_marquardt needs params")
        x, unravel = ravel_pytree(params)
        r = residuals
        residual_flat = lambda v: residual_fn(unravel(v))  # noqa: E731
        loss = jnp.dot(r, r)
        if solver == "cholesky":
            if jacobian is None:
                raise ValueError("the dense Levenberg-Marquardt solver needs jacobian=")
            J = jacobian
            G, g = gram(J), J.T @ r
            diag = jnp.diag(G)
        else:
            _, jvp_fn = jax.linearize(residual_flat, x)
            vjp_fn = jax.linear_transpose(jvp_fn, x)
            G = lambda v: vjp_fn(jvp_fn(v))[0]  # noqa: E731  (J^T J v, matrix-free)
            g = vjp_fn(r)[0]
            diag = _diag_estimate(G, x) if jacobian is None else jnp.sum(jacobian**2, axis=0)
        top = jnp.max(diag)
        scale = jnp.ones_like(x) if scaling == "identity" else jnp.maximum(diag, 1e-12 * top)
        lam0 = jnp.where(state.damping < 0, damping_init * jnp.where(top > 0, top, 1.0), state.damping)

        def trial(lam):
            if solver == "cholesky":
                delta, pred, ok, solve = lm_trial(g, G, lam, scale, return_solve=True)
                iters = jnp.zeros((), jnp.int32)
                if geodesic:  # second-order correction along delta (Transtrum & Sethna 2012)
                    rvv = jax.jvp(lambda y: jax.jvp(residual_flat, (y,), (delta,))[1], (x,), (delta,))[1]
                    acc = -solve(jacobian.T @ rvv)
                    small = 2.0 * jnp.linalg.norm(acc) <= geodesic * jnp.linalg.norm(delta)
                    ok = ok & small & jnp.all(jnp.isfinite(acc))
                    delta = jnp.where(ok, delta + 0.5 * acc, 0.0)
            else:
                delta, pred, ok, iters = _cg_trial(G, g, diag, lam, scale, cg_tol, cg_maxiter)
            r_new = residual_flat(x + delta)
            new_loss = jnp.dot(r_new, r_new)
            rho = jnp.where(ok, (loss - new_loss) / jnp.where(ok, pred, 1.0), jnp.nan)
            accepted = ok & jnp.isfinite(new_loss) & (rho > 0)
            return delta, rho, accepted, jnp.where(accepted, new_loss, loss), iters

        def cond(c):
            return (~c["accepted"]) & (c["tries"] < max_tries)

        def body(c):
            delta, rho, accepted, new_loss, iters = trial(c["lam"])
            lam, nu = nielsen_damping(c["lam"], c["nu"], jnp.where(accepted, rho, 0.0), accepted, rule)
            return {"lam": jnp.clip(lam, min_damping, max_damping * jnp.where(top > 0, top, 1.0)), "nu": nu, "delta": delta, "rho": rho,
                    "accepted": accepted, "loss": new_loss, "tries": c["tries"] + 1, "cg": c["cg"] + iters}

        start = {"lam": lam0, "nu": state.nu, "delta": jnp.zeros_like(x), "rho": jnp.asarray(jnp.nan, x.dtype),
                 "accepted": jnp.asarray(False), "loss": loss, "tries": jnp.zeros((), jnp.int32),
                 "cg": jnp.zeros((), jnp.int32)}
        out = jax.lax.while_loop(cond, body, start)
        step = jnp.where(out["accepted"], out["delta"], 0.0)
        new_state = LevenbergMarquardtState(
            count=state.count + 1, n_accepted=state.n_accepted + out["accepted"].astype(jnp.int32),
            n_trials=state.n_trials + out["tries"], damping=out["lam"], nu=out["nu"], rho=out["rho"],
            loss=out["loss"], accepted=out["accepted"], tries=out["tries"], cg_iters=out["cg"])
        return unravel(step), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _diag_estimate(gauss_newton, x, probes: int = 8):
    """Hutchinson estimate of diag(J^T J), mean of v * (J^T J v) over Rademacher probes v (matrix-free solver)."""
    keys = jax.random.split(jax.random.PRNGKey(0), probes)

    def one(k):
        v = jax.random.rademacher(k, x.shape, x.dtype)
        return v * gauss_newton(v)

    return jnp.maximum(jnp.mean(jax.vmap(one)(keys), axis=0), 0.0)


def restart_damping(opt_state, restart=True):
    """The state after the loss changed (new collocation points).

    lam is kept when the last call was accepted (it measures the curvature scale of the network, which a
    redraw barely changes); after a rejected call (lam raised against the old batch's minimum) it is set
    again from the new batch (tau max diag(G) at the next call). nu goes back to 2. ``restart`` may be traced.
    """
    restart = jnp.asarray(restart)

    def fix(node):
        if isinstance(node, LevenbergMarquardtState):
            reset = restart & ~node.accepted
            return node._replace(nu=jnp.where(restart, 2.0, node.nu), damping=jnp.where(reset, -1.0, node.damping))
        return node

    return jax.tree_util.tree_map(fix, opt_state, is_leaf=lambda n: isinstance(n, LevenbergMarquardtState))
