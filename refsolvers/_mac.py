"""Second-order finite-volume operators on a uniform staggered (MAC) grid of the unit square.

Cells of side h = 1/n; u on the vertical faces, v on the horizontal faces, p at the cell centres.
Unknowns, flattened row-major with axes (y, x): u (n, n-1) at x = i h (i = 1..n-1), y = (j+1/2) h;
v (n-1, n) at x = (i+1/2) h, y = j h (j = 1..n-1); p (n, n) at cell centres; a state vector is
q = [u, v, p]. Walls: u = v = 0 except the tangential velocity of the top wall (y = 1), given per u
column; no slip by quadratic ghost values (second order). Convective fluxes are central (energy
conserving). Used by `refsolvers.pde.lid_driven_cavity` and `scripts/ldc_study.py`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.fft import dctn, idctn

# 1-D building blocks (h = 1/n). "centres": n cell centres; "faces": the n-1 interior faces (walls
# excluded, the unknowns live there); "nodes": all n+1 faces including the two walls.


def _avg_faces_to_centres(n):
    """(n, n-1): centre value = mean of its two faces, wall faces zero."""
    e = np.full(n - 1, 0.5)
    return sp.diags([e, e], [0, -1], shape=(n, n - 1), format="csr")


def _diff_faces_to_centres(n, h):
    """(n, n-1): (f[i+1] - f[i]) / h over cell i, wall faces zero."""
    e = np.full(n - 1, 1.0 / h)
    return sp.diags([e, -e], [0, -1], shape=(n, n - 1), format="csr")


def _avg_centres_to_faces(n):
    """(n-1, n): interior face value = mean of its two cells."""
    e = np.full(n - 1, 0.5)
    return sp.diags([e, e], [0, 1], shape=(n - 1, n), format="csr")


def _diff_centres_to_faces(n, h):
    """(n-1, n): (c[i] - c[i-1]) / h at interior face i."""
    e = np.full(n - 1, 1.0 / h)
    return sp.diags([-e, e], [0, 1], shape=(n - 1, n), format="csr")


def _avg_centres_to_nodes(n):
    """(n+1, n): node value = mean of neighbouring cells; the wall rows are zero (Dirichlet 0, ghost -c)."""
    e = np.full(n, 0.5)
    return sp.diags([e, e], [-1, 0], shape=(n + 1, n), format="csr")


def _diff_nodes_to_centres(n, h):
    """(n, n+1): (f[i+1] - f[i]) / h over cell i, all n+1 nodes given."""
    e = np.full(n + 1, 1.0 / h)
    return sp.diags([-e, e], [0, 1], shape=(n, n + 1), format="csr")


def _faces_to_nodes(n):
    """(n+1, n-1): insert zero wall values."""
    return sp.eye(n + 1, n - 1, k=-1, format="csr")


def _lap_faces(n, h):
    """(n-1, n-1): Dirichlet-0 second difference on interior faces (walls are nodes)."""
    e = np.ones(n - 1) / h**2
    return sp.diags([e[1:], -2 * e, e[1:]], [-1, 0, 1], format="csr")


def _lap_centres(n, h):
    """(n, n): second difference on cell centres with Dirichlet wall values at the end faces.

    Quadratic ghost value g = (8 w - 6 c0 + c1) / 3 (second-order wall closure): the wall row reads
    (4/3 c1 - 4 c0 + 8/3 w) / h^2. The wall values' part (8 w / (3 h^2)) is added separately.
    """
    d = np.full(n, -2.0)
    d[0] = d[-1] = -4.0
    lower, upper = np.ones(n - 1), np.ones(n - 1)
    upper[0] = lower[-1] = 4.0 / 3.0
    return sp.diags([lower, d, upper], [-1, 0, 1], format="csr") / h**2


class MACGrid:
    """The 2-D operators (sparse matrices) on the n x n MAC grid with a moving top wall.

    Args:
        n: cells per side.
        top_u: tangential velocity of the top wall y = 1 at the u columns x = i h, i = 1..n-1 (length n-1).

    Attributes (sparse, acting on the flattened fields): ``ux_c`` u -> cell centres; ``uy_k``, ``vx_k`` u, v
    -> the corners (n+1, n-1) where the x-momentum flux u v lives (``uy_k_bc``: the top wall's u there);
    ``dx_u``, ``dy_u`` centres / corners -> u points; ``vy_c``, ``vx_k2``, ``ux_k2``, ``dx_v``, ``dy_v`` the
    same for v; ``lap_u`` (+ ``lap_u_bc``, the wall values' part), ``lap_v`` the Laplacians; ``div_u``,
    ``div_v`` the divergence at centres; ``grad_x``, ``grad_y`` the pressure gradient (G = -D^T).
    """

    def __init__(self, n: int, top_u):
        self.n = n
        h = self.h = 1.0 / n
        In, Im = sp.eye(n, format="csr"), sp.eye(n - 1, format="csr")
        self.n_u, self.n_v, self.n_p = n * (n - 1), (n - 1) * n, n * n
        kron = lambda a, b: sp.kron(a, b, format="csr")  # noqa: E731  (y operator, x operator)
        # x-momentum at u points
        self.ux_c = kron(In, _avg_faces_to_centres(n))            # u -> cell centres (n, n)
        self.dx_u = kron(In, _diff_centres_to_faces(n, h))         # centres -> u points
        self.uy_k = kron(_avg_centres_to_nodes(n), Im)             # u -> corners (n+1, n-1), walls 0
        self.vx_k = kron(_faces_to_nodes(n), _avg_centres_to_faces(n))  # v -> same corners
        self.dy_u = kron(_diff_nodes_to_centres(n, h), Im)         # corners -> u points
        top = np.zeros((n + 1, n - 1))
        top[-1] = top_u                                             # u on the lid at the corner row
        self.uy_k_bc = top.ravel()
        self.lap_u = kron(In, _lap_faces(n, h)) + kron(_lap_centres(n, h), Im)
        lap_bc = np.zeros((n, n - 1))
        lap_bc[-1] = 8.0 / 3.0 * top_u / h**2
        self.lap_u_bc = lap_bc.ravel()
        # y-momentum at v points
        self.vy_c = kron(_avg_faces_to_centres(n), In)             # v -> cell centres
        self.dy_v = kron(_diff_centres_to_faces(n, h), In)
        self.vx_k2 = kron(Im, _avg_centres_to_nodes(n))            # v -> corners (n-1, n+1), walls 0
        self.ux_k2 = kron(_avg_centres_to_faces(n), _faces_to_nodes(n))  # u -> same corners
        self.dx_v = kron(Im, _diff_nodes_to_centres(n, h))
        self.lap_v = kron(_lap_faces(n, h), In) + kron(Im, _lap_centres(n, h))
        # continuity and pressure gradient (G = -D^T)
        self.div_u = kron(In, _diff_faces_to_centres(n, h))
        self.div_v = kron(_diff_faces_to_centres(n, h), In)
        self.grad_x, self.grad_y = self.dx_u, self.dy_v
        self._pressure_eigs = None

    @property
    def size(self) -> int:
        """Length of a state vector [u, v, p]."""
        return self.n_u + self.n_v + self.n_p

    @property
    def mass_diagonal(self) -> np.ndarray:
        """1 on the velocity unknowns, 0 on the pressure (the mass matrix of a pseudo-time step)."""
        return np.r_[np.ones(self.n_u + self.n_v), np.zeros(self.n_p)]

    def split(self, q) -> tuple:
        """(u, v, p) views of a state vector."""
        return q[: self.n_u], q[self.n_u: self.n_u + self.n_v], q[self.n_u + self.n_v:]

    def convection(self, u, v) -> tuple:
        """Central convective terms (div(u u), div(u v)) at the u and v points (velocity^2 / length)."""
        uc, uk, vk = self.ux_c @ u, self.uy_k @ u + self.uy_k_bc, self.vx_k @ v
        vc, vk2, uk2 = self.vy_c @ v, self.vx_k2 @ v, self.ux_k2 @ u
        return self.dx_u @ (uc * uc) + self.dy_u @ (uk * vk), self.dx_v @ (uk2 * vk2) + self.dy_v @ (vc * vc)

    def project(self, ru, rv) -> tuple:
        """(ru, rv) minus the gradient that makes it discretely divergence-free: r - G phi with D G phi = D r.

        The Neumann pressure Poisson problem D G phi = D r is solved exactly by a DCT-II (its eigenvectors).
        """
        n = self.n
        if self._pressure_eigs is None:
            lam = (2 * np.cos(np.pi * np.arange(n) / n) - 2) / self.h**2
            eig = lam[:, None] + lam[None, :]
            eig[0, 0] = 1.0
            self._pressure_eigs = eig
        rhs = (self.div_u @ ru + self.div_v @ rv).reshape(n, n)
        phi_hat = dctn(rhs, type=2, norm="ortho") / self._pressure_eigs
        phi_hat[0, 0] = 0.0
        phi = idctn(phi_hat, type=2, norm="ortho").ravel()
        return ru - self.grad_x @ phi, rv - self.grad_y @ phi

    def divergence(self, q) -> float:
        """max |div u| over the cells (velocity / length)."""
        u, v, _ = self.split(q)
        return float(np.abs(self.div_u @ u + self.div_v @ v).max())
