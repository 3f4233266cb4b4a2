"""Chebyshev-Gauss-Lobatto machinery for one bounded direction.

Nodes are ordered ascending, ``y_j = (a+b)/2 - (b-a)/2 cos(pi j/n)``, j = 0..n (so y_0 = a, y_n = b).
Provides the differentiation matrix, barycentric interpolation to any points, values <-> Chebyshev
coefficients (DCT-I), the L2-optimal truncation of a finely sampled function, and `DirichletSolver`,
which solves ``(s - mu D2) f = r`` on the interior nodes for many shifts ``s`` at once by diagonalising
the interior block of D2 once (Haidvogel & Zang 1979, "matrix diagonalisation").

References:
    Trefethen, "Spectral Methods in MATLAB" (2000), ch. 6; Baltensperger & Trummer (2003) for the
    accurate node differences; Berrut & Trefethen (2004) for barycentric interpolation.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def nodes(n: int, a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """The n+1 Gauss-Lobatto nodes on [a, b], ascending, both ends included."""
    if int(n) != n or n < 2:
        raise ValueError(f"Chebyshev degree must be an integer >= 2, got {n}")
    theta = np.pi * np.arange(n + 1) / n
    return 0.5 * (a + b) - 0.5 * (b - a) * np.cos(theta)


def _weights(n: int) -> np.ndarray:
    w = (-1.0) ** np.arange(n + 1)
    w[0] *= 0.5
    w[-1] *= 0.5
    return w


def differentiation_matrix(n: int, a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """(n+1, n+1) matrix D with (D f)_i = f'(y_i) for polynomials of degree <= n on the nodes.

    Node differences use the trigonometric identity (no cancellation) and the diagonal the
    negative-sum trick, so D annihilates constants to round-off.
    """
    theta = np.pi * np.arange(n + 1) / n
    ti, tj = theta[:, None], theta[None, :]
    diff = 2.0 * np.sin(0.5 * (ti + tj)) * np.sin(0.5 * (ti - tj))  # xi_i - xi_j on [-1, 1]
    w = _weights(n)
    np.fill_diagonal(diff, 1.0)
    d = (w[None, :] / w[:, None]) / diff
    np.fill_diagonal(d, 0.0)
    np.fill_diagonal(d, -d.sum(axis=1))
    return d * (2.0 / (b - a))


def interpolation_matrix(n: int, points, a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """(len(points), n+1) matrix evaluating the degree-n interpolant at `points` (barycentric)."""
    y = nodes(n, a, b)
    p = np.asarray(points, dtype=float).ravel()
    w = _weights(n)
    diff = p[:, None] - y[None, :]
    exact = np.abs(diff) <= 1e-14 * max(1.0, abs(a), abs(b))
    diff[exact] = 1.0
    m = w[None, :] / diff
    m /= m.sum(axis=1, keepdims=True)
    rows = exact.any(axis=1)
    m[rows] = exact[rows].astype(float)
    return m


def to_coefficients(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Chebyshev coefficients a_k of the interpolant of `values` (nodes along `axis`): f = sum a_k T_k."""
    v = np.flip(np.moveaxis(np.asarray(values), axis, 0), axis=0)  # descending nodes cos(pi j/n)
    n = v.shape[0] - 1
    c = scipy.fft.dct(v, type=1, axis=0) / n
    c[0] *= 0.5
    c[-1] *= 0.5
    return np.moveaxis(c, 0, axis)


def from_coefficients(coef: np.ndarray, axis: int = 0) -> np.ndarray:
    """Values at the (ascending) nodes of sum a_k T_k; inverse of `to_coefficients`."""
    c = np.array(np.moveaxis(np.asarray(coef), axis, 0), copy=True)
    c[0] *= 2.0
    c[-1] *= 2.0
    v = scipy.fft.dct(c, type=1, axis=0) * 0.5
    return np.moveaxis(np.flip(v, axis=0), 0, axis)


def truncate(fine_values: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    """Values at the degree-n nodes of the degree-n Chebyshev truncation of a finely sampled function.

    `fine_values` holds samples at the nodes of a (much) higher degree; their coefficients up to n are
    kept. Unlike interpolation at the n+1 nodes, this does not alias the unresolved tail into the
    resolved modes (what matters for a steep initial profile that diffusion smooths right away).
    """
    c = np.moveaxis(to_coefficients(fine_values, axis), axis, 0)[: n + 1]
    return from_coefficients(np.moveaxis(c, 0, axis), axis)


def real_matmul(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``a @ z`` for a real matrix and a complex (m, K) array, as one real BLAS call."""
    z = np.ascontiguousarray(z)
    out = a @ z.view(np.float64)
    return out.view(np.complex128)


class DirichletSolver:
    """Solve ``(s - mu D2) f = r`` at the interior nodes, boundary values given, for many shifts.

    D2 restricted to the interior (homogeneous Dirichlet) is diagonalised once, ``D2_II = V diag(lam) V^-1``
    (real negative eigenvalues). A solve is then two real matrix products and a division, for all shifts
    (e.g. one per Fourier mode) at once.

    Args:
        d2: (n+1, n+1) second-derivative matrix on the nodes.
    """

    def __init__(self, d2: np.ndarray):
        inner = d2[1:-1, 1:-1]
        lam, vec = np.linalg.eig(inner)
        if np.max(np.abs(lam.imag)) > 1e-8 * np.max(np.abs(lam)) or np.max(lam.real) >= 0:
            raise RuntimeError("Dirichlet D2 has non-real or non-negative eigenvalues")
        order = np.argsort(-lam.real)
        self.lam = lam.real[order]
        self.vec = np.ascontiguousarray(vec.real[:, order])
        self.vec_inv = np.ascontiguousarray(np.linalg.inv(self.vec))
        self.boundary = np.ascontiguousarray(d2[1:-1][:, [0, -1]])  # couples interior rows to f(a), f(b)

    def solve(self, rhs: np.ndarray, inv_symbol: np.ndarray) -> np.ndarray:
        """Interior values of f, given the interior right-hand side and 1/(s - mu lam) per column.

        Args:
            rhs: complex (n-1, K), interior rows; boundary terms (mu D2_IB f_B) already added.
            inv_symbol: real (n-1, K), ``1 / (s_k - mu lam_j)``.
        """
        return real_matmul(self.vec, real_matmul(self.vec_inv, rhs) * inv_symbol)
