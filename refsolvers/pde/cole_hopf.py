"""Exact viscous Burgers solution by the Cole-Hopf transform, evaluated by quadrature.

Problem: u_t + u u_x = nu u_xx on x in [-1, 1], u(t, +-1) = 0, u(0, x) = -sin(pi x). The data are
odd and 2-periodic, so this equals the problem on the whole line with 2-periodic data. With
u = -2 nu phi_x / phi, phi solves phi_t = nu phi_xx, phi(0, x) = f(x) = exp(-a cos(pi x)),
a = 1 / (2 pi nu), and

    u(t, x) = - int sin(pi (x - eta)) f(x - eta) G(eta) d eta / int f(x - eta) G(eta) d eta,

G the heat kernel exp(-eta^2 / (4 nu t)) / sqrt(4 pi nu t). Substituting eta = sigma s,
sigma = sqrt(4 nu t), both integrals are int g(s) exp(E(s)) ds with

    E(s) = -a cos(pi (x - sigma s)) - s^2,

an entire integrand decaying like a Gaussian.

Quadrature. The trapezoid rule on [-L, L] with n equispaced nodes (symmetric about 0, spacing
h = 2L/n) is used:

* truncation: E(s) - max E <= (a - s^2) - (-a) = 2a - s^2, so with L^2 = 2a + 50 the discarded tails
  are below exp(-50)/(2L) ~ 1e-23 relative to the denominator, whatever x and t;
* discretisation: for an entire integrand the trapezoid error decays like exp(-2 pi d / h) times the
  integrand's growth in the strip |Im s| < d, i.e. geometrically in n. `burgers_exact(..., n=2n)`
  versus n measures it; `node_doubling_error` does that over a grid.

Overflow and cancellation: the weights are exp(E - max E) per point (log-sum-exp), so nothing
overflows (E spans about 2a = 100 for the default nu) and the ratio is formed from O(1) numbers.
cos/sin(pi y) are evaluated with exact argument reduction (`_sincospi`), so sin(pi x) is exactly 0
at x = 0, +-1, and the nodes are folded in mirror pairs (s, -s): the result is exactly odd in x,
u(t, +-1) = u(t, 0) = 0 exactly, in floating point. At t = 0 the initial data -sin(pi x) is returned.

Measured (nu = 0.01/pi, 201 x 512 grid, tests/refsolvers/test_burgers.py): 64 nodes 2.5e-8 relative
L2, 80 nodes 4e-11 (max abs), 96 nodes and up at round-off, 2.5e-16 relative L2 / 1e-15 max between any two
of 96 ... 1024 nodes; against the same integrals in 34-digit arithmetic (mpmath), u and u_x agree to
2e-16 relative L2 / 6e-16 max. DEFAULT_NODES = 256 is a 2.7x margin. Cost: about 0.5 s CPU for the
201 x 512 grid at 256 nodes (the sin/cos of the nodes are shared by all points of one time).
Larger t or smaller nu need more nodes (the integrand's bandwidth grows like a * sqrt(nu t)): use
`node_doubling_error` to check.
"""

from __future__ import annotations

import numpy as np

NU = 0.01 / np.pi
DEFAULT_NODES = 256
# Points (x, t pairs) per vectorised chunk: a chunk allocates a few arrays of chunk * n / 2 floats.
_CHUNK = 4096


def _sincospi(y):
    """(sin(pi y), cos(pi y)) with exact argument reduction (exact zeros at integers/half-integers).

    Exactly odd/even in y: _sincospi(-y) == (-sin, cos) bit for bit.
    """
    y = np.asarray(y, dtype=np.float64)
    r = y - 2.0 * np.round(y / 2.0)          # in [-1, 1], exact
    q = np.round(2.0 * r)                    # quadrant, in {-2, ..., 2}
    f = r - 0.5 * q                          # in [-1/4, 1/4], exact (Sterbenz)
    s, c = np.sin(np.pi * f), np.cos(np.pi * f)
    qi = np.mod(q, 4).astype(np.int8)
    sin = np.where(qi == 0, s, np.where(qi == 1, c, np.where(qi == 2, -s, -c)))
    cos = np.where(qi == 0, c, np.where(qi == 1, -s, np.where(qi == 2, -c, s)))
    # q = +-2 gives sin(pi f +- pi) = -sin(pi f); keep the sign of zero irrelevant (-0.0 == 0.0).
    return sin + 0.0, cos + 0.0


def window(nu: float) -> float:
    """Half-width L of the quadrature window in s = eta / sqrt(4 nu t): L^2 = 2a + 50, a = 1/(2 pi nu)."""
    return float(np.sqrt(2.0 / (2.0 * np.pi * nu) + 50.0))


def _nodes(nu: float, n: int) -> tuple:
    """Half of the symmetric trapezoid nodes (s > 0, plus s = 0 with half weight if n is odd) and h."""
    if n < 2:
        raise ValueError(f"need at least 2 quadrature nodes, got {n}")
    L = window(nu)
    h = 2.0 * L / n
    j = np.arange(n // 2)
    s = h * ((n - 1) / 2.0 - j)              # n even: h/2, 3h/2, ...; n odd: h, 2h, ...
    return s[::-1].copy(), h, bool(n % 2)


def _moments(t, x, nu, n, with_derivative):
    """Core evaluation on flat arrays t, x (t > 0): returns u and, if asked, u_x."""
    a = 1.0 / (2.0 * np.pi * nu)
    s, _, has_mid = _nodes(nu, n)
    order = np.argsort(t, kind="stable")                   # group equal times (meshes) into chunks
    t, x = t[order], x[order]
    sx, cx = _sincospi(x)
    out_u = np.empty_like(x)
    out_ux = np.empty_like(x) if with_derivative else None
    s2 = s * s
    for lo in range(0, x.size, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        # sin/cos(pi eta), eta = sigma s: one row per distinct time, exactly odd/even in s
        times, inverse = np.unique(t[sl], return_inverse=True)
        S, C = _sincospi(np.sqrt(4.0 * nu * times)[:, None] * s[None, :])
        S, C = S[inverse], C[inverse]
        cxs, sxs = cx[sl, None], sx[sl, None]
        base = -a * cxs * C - s2                           # even part of E
        odd = a * sxs * S                                  # E(+s) = base - odd, E(-s) = base + odd
        e_plus, e_minus = base - odd, base + odd
        emax = np.maximum(e_plus.max(axis=1), e_minus.max(axis=1))
        if has_mid:
            e_mid = -a * cx[sl]
            emax = np.maximum(emax, e_mid)
        w_plus = np.exp(e_plus - emax[:, None])
        w_minus = np.exp(e_minus - emax[:, None])
        P, M = w_plus + w_minus, w_plus - w_minus
        den = P.sum(axis=1)
        pc = (P * C).sum(axis=1)                           # sum over both mirrors of w cos(pi eta)
        ms = (M * S).sum(axis=1)                           # sum over both mirrors of w sin(pi eta)
        if has_mid:
            w_mid = np.exp(e_mid - emax)
            den = den + w_mid
            pc = pc + w_mid
        # sin(pi(x - eta)) = sx cos(pi eta) - cx sin(pi eta)
        mean_sin = (sx[sl] * pc - cx[sl] * ms) / den
        out_u[sl] = -mean_sin
        if with_derivative:
            # u_x = -pi <cos(pi(x-eta))> - a pi Var[sin(pi(x-eta))]  (differentiating under the integral)
            mean_cos = (cx[sl] * pc + sx[sl] * ms) / den
            m = mean_sin[:, None]
            sin_p = sxs * C - cxs * S                      # node +s: eta = sigma s
            sin_m = sxs * C + cxs * S                      # node -s
            var = (w_plus * (sin_p - m) ** 2 + w_minus * (sin_m - m) ** 2).sum(axis=1)
            if has_mid:
                var = var + w_mid * (sx[sl] - mean_sin) ** 2
            out_ux[sl] = -np.pi * mean_cos - a * np.pi * var / den
    u = np.empty_like(out_u)
    u[order] = out_u
    if with_derivative:
        ux = np.empty_like(out_ux)
        ux[order] = out_ux
        return u, ux
    return u, None


def _evaluate(t, x, nu, n, with_derivative):
    t, x = np.broadcast_arrays(np.asarray(t, dtype=np.float64), np.asarray(x, dtype=np.float64))
    shape = t.shape
    t, x = t.ravel(), x.ravel()
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    if not nu > 0:
        raise ValueError(f"nu must be positive, got {nu}")
    u = np.empty_like(x)
    ux = np.empty_like(x) if with_derivative else None
    zero = t == 0
    sx, cx = _sincospi(x[zero])
    u[zero] = 0.0 - sx                                     # no -0.0
    if with_derivative:
        ux[zero] = -np.pi * cx
    pos = ~zero
    if pos.any():
        up, uxp = _moments(t[pos], x[pos], float(nu), int(n), with_derivative)
        u[pos] = up
        if with_derivative:
            ux[pos] = uxp
    if with_derivative:
        return u.reshape(shape), ux.reshape(shape)
    return u.reshape(shape)


def burgers_exact(t, x, nu: float = NU, n: int = DEFAULT_NODES) -> np.ndarray:
    """Exact u(t, x) of the viscous Burgers benchmark (float64, broadcasting t and x).

    Args:
        t: times (>= 0), any shape broadcastable with `x`.
        x: positions (any real x; the solution is 2-periodic and odd).
        nu: viscosity (default 0.01/pi).
        n: trapezoid nodes (the accuracy knob; error decays geometrically in n, see module doc).
    """
    return _evaluate(t, x, nu, n, False)


def burgers_exact_with_ux(t, x, nu: float = NU, n: int = DEFAULT_NODES) -> tuple:
    """(u, u_x) at (t, x), u_x by differentiating the Cole-Hopf integrals under the integral sign."""
    return _evaluate(t, x, nu, n, True)


def burgers_exact_ux(t, x, nu: float = NU, n: int = DEFAULT_NODES) -> np.ndarray:
    """Exact u_x(t, x) (see `burgers_exact_with_ux`)."""
    return _evaluate(t, x, nu, n, True)[1]


def node_doubling_error(t, x, nu: float = NU, n: int = DEFAULT_NODES) -> dict:
    """Compare n and 2n nodes on the mesh (t, x): the error estimate of the n-node result.

    Returns {"u": u(n), "relative_l2": ||u_n - u_2n|| / ||u_2n||, "max_abs": max |u_n - u_2n|}.
    """
    u = burgers_exact(t, x, nu, n)
    u2 = burgers_exact(t, x, nu, 2 * n)
    diff = np.ravel(u - u2)
    norm = np.linalg.norm(np.ravel(u2))
    return {"u": u, "relative_l2": float(np.linalg.norm(diff) / norm) if norm > 0 else float(np.linalg.norm(diff)),
            "max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0}


__all__ = ["NU", "DEFAULT_NODES", "burgers_exact", "burgers_exact_ux", "burgers_exact_with_ux",
           "node_doubling_error", "window"]
