"""Steady nonlinear systems R(q) = 0 by Newton's method with pseudo-transient continuation.

Implicit Euler in a pseudo time whose step grows as the residual falls ("switched evolution relaxation",
Mulder & van Leer 1985), so the iteration starts robustly from far away and ends as Newton's method; sparse
LU (SuperLU) per factorisation, the factors reused for chord steps while they still cut the residual.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from tqdm.auto import tqdm

from ._rollout import BlowUpError


def newton_solve(problem, q0, tol: float = 1e-8, dtau0: float = 0.1, max_iter: int = 400,
                 progress: bool = True, desc: str = "", chord_rate: float = 0.25) -> tuple:
    """Solve residual(q) = 0 from q0 by pseudo-transient continuation (implicit Euler, SER step growth).

    Each iteration solves (M/dtau + J) dq = -R (M = identity on velocities, 0 on pressure) with a
    sparse LU; dtau grows as ||R|| falls (dtau_k = dtau_{k-1} ||R_{k-1}|| / ||R_k||, at most x10 per
    step), so the iteration becomes Newton's method near the solution. A step that makes the
    residual non-finite or more than 10x larger is rejected and retried with dtau / 4.
    The last LU factors are reused (chord step) while that cuts ||R|| by at least `chord_rate`;
    otherwise the Jacobian is refactored at the current state.
    Stops when the projected momentum residual (max|du/dt|) and the continuity residual are below
    max(tol, problem.residual_floor), the round-off level of the residual.

    `problem` provides ``residual(q)`` (array), ``jacobian(q)`` (sparse), ``mass_diagonal`` (1 on the
    unknowns that evolve in pseudo time, 0 on constraints such as the pressure), ``steady_residual(q)``
    and ``divergence(q)`` (floats, the stopping measures), ``residual_floor`` and ``name`` (for messages).

    Returns:
        (q, stats) with stats = {"iterations", "factorizations", "pseudo_time", "residual", "divergence",
        "history"}.
    Raises:
        BlowUpError: dtau had to shrink below 1e-8 (the iteration keeps producing non-finite or
            exploding states); RuntimeError: max_iter reached.
    """
    q = np.array(q0, dtype=float)
    mass = sp.diags(problem.mass_diagonal, format="csc")
    r = problem.residual(q)
    if not np.isfinite(r).all():
        raise BlowUpError(0.0, 0)
    rms = lambda a: float(np.linalg.norm(a) / math.sqrt(a.size))  # noqa: E731
    tol_eff = max(tol, problem.residual_floor)
    rnorm = rms(r)
    dtau, tau = dtau0, 0.0
    history, factorizations, lu = [], 0, None
    bar = tqdm(total=max_iter, desc=desc, disable=not progress, unit="it", mininterval=0.5, leave=False)
    it = 0
    try:
        while True:
            res = problem.steady_residual(q)
            div = problem.divergence(q)
            history.append((it, tau, dtau, res, div, factorizations))
            bar.set_postfix_str(f"max|du/dt|={res:.2e} dtau={dtau:.1e} LU={factorizations}", refresh=False)
            if res < tol_eff and div < tol_eff:
                break
            if it >= max_iter:
                raise RuntimeError(f"{problem.name}: not converged after {it} iterations (pseudo time "
                                   f"{tau:.4g}): max|du/dt| = {res:.3e} > tol = {tol_eff:.3g}; raise max_iter or n")
            accepted = False
            if lu is not None:  # chord step with the last factors
                trial = q - lu.solve(r)
                r_trial = problem.residual(trial)
                if np.isfinite(r_trial).all() and rms(r_trial) < chord_rate * rnorm:
                    accepted, rn_trial = True, rms(r_trial)
            if not accepted:
                jac = problem.jacobian(q)
                while True:
                    a = (jac + mass / dtau) if dtau < 1e14 else jac
                    try:
                        lu = spla.splu(a.tocsc(), permc_spec="COLAMD")
                        factorizations += 1
                        trial = q - lu.solve(r)
                        r_trial = problem.residual(trial)
                    except RuntimeError:  # exactly singular factor (not seen in practice): shrink dtau
                        lu, r_trial = None, np.array([np.nan])
                    if np.isfinite(r_trial).all():
                        rn_trial = rms(r_trial)
                        if rn_trial < 10 * rnorm:
                            break
                    lu = None
                    dtau /= 4
                    if dtau < 1e-8:
                        raise BlowUpError(tau, it)
            tau += dtau
            it += 1
            bar.update(1)
            q, r = trial, r_trial
            growth = min(10.0, rnorm / max(rn_trial, 1e-300))
            rnorm = rn_trial
            dtau = dtau * max(growth, 0.5)
    finally:
        bar.close()
    return q, {"iterations": it, "factorizations": factorizations, "pseudo_time": tau, "residual": res,
               "divergence": div, "tol_effective": tol_eff, "history": history}


# --------------------------------------------------------------------------------------------------
