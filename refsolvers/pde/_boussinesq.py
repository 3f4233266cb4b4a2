"""Boussinesq flow in a channel periodic in x between no-slip walls: Fourier x Chebyshev, streamfunction-vorticity.

The discretisation behind `refsolvers.pde.rayleigh_taylor` (which adds the parameters, the initial data and
the driver). Equations in the channel x in [0, lx) periodic, y in [0, ly], u = v = T = 0 at the walls::

    u_t + u.grad u = -grad p + nu Lap u + T e_y,   div u = 0,   T_t + u.grad T = kappa Lap T.

x Fourier with the 2/3 rule; y Chebyshev-Gauss-Lobatto collocation of degree `n_cheb`. Velocity from a
streamfunction (u = psi_y, v = -psi_x, div u = 0 to round-off by construction); vorticity
w = v_x - u_y = -Lap psi obeys w_t + u.grad w = nu Lap w + T_x. Per Fourier mode k != 0 the implicit
step is a Helmholtz problem for w and a Poisson problem for psi (psi = 0 at the walls) coupled by
psi_y = 0 at the walls, solved exactly with a 2 x 2 influence matrix per mode; the k = 0 mode is the mean
flow U(y), U_t = nu U_yy - (uv)_y. Helmholtz/Poisson solves diagonalise the interior Chebyshev D2 once.
Time: variable-step SBDF3 (`refsolvers._sbdf`; diffusion implicit, advection explicit, buoyancy with the
new T since T is advanced first).

References:
    Kleiser & Schumann (1980) and Peyret, "Spectral Methods for Incompressible Viscous Flow" (2002), ch. 4
    (influence matrix); Haidvogel & Zang (1979) (matrix diagonalisation).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _chebyshev as cheb
from .._fft import real_fft
from .._grid import PeriodicGrid
from .._sbdf import SBDF3Stepper


@functools.lru_cache(maxsize=4)
def _chebyshev_operators(n_cheb: int, ly: float) -> tuple:
    """Nodes, D, D2 on [0, ly] and the diagonalised Dirichlet D2 (an O(n^3) eigendecomposition: cached)."""
    d = cheb.differentiation_matrix(n_cheb, 0.0, ly)
    d2 = d @ d
    return cheb.nodes(n_cheb, 0.0, ly), d, d2, cheb.DirichletSolver(d2)


class BoussinesqChannel(SBDF3Stepper):
    """Discretised channel for the variable-step SBDF3 stepper (`refsolvers._sbdf`).

    State: complex (3, n_cheb+1, K) array [W, T, Psi] in mixed space (Chebyshev nodes in y; rfft
    coefficients in x, numpy's unnormalised convention, the K modes kept by the 2/3 rule). W holds the
    vorticity for k > 0 and, in column k = 0, the mean velocity U(y) (times n). The object keeps the
    multistep history (`SBDF3Stepper`): `start(state)` once, then `step(h)` repeatedly.

    Args:
        nu, kappa: viscosity and temperature diffusivity (non-dimensional).
        n: Fourier grid points in x (even).
        n_cheb: Chebyshev degree in y; n_cheb + 1 nodes including both walls.
        lx, ly: period in x and channel height.
        symmetric: project onto the mirror symmetry about x = symmetry_x every step (T even, w and psi odd).
        symmetry_x: the mirror axis.
        startup_substeps: the first two steps are each done as this many SBDF1/SBDF2 substeps, so that
            the start does not lower the global order.
    """

    def __init__(self, nu: float, kappa: float, n: int, n_cheb: int, lx: float, ly: float, symmetric: bool = False,
                 symmetry_x: float = 0.0, startup_substeps: int = 16):
        self.n, self.n_cheb, self.lx, self.ly = int(n), int(n_cheb), float(lx), float(ly)
        self.nu, self.kappa = nu, kappa
        super().__init__(startup_substeps)
        self.symmetric = bool(symmetric)
        self.grid = PeriodicGrid((self.n,), (self.lx,), (0.0,))
        index = np.fft.rfftfreq(self.n, 1.0 / self.n)
        self.K = int(np.count_nonzero(index < self.n / 3))  # 2/3 rule (Nyquist dropped)
        self.k = 2 * np.pi / self.lx * index[: self.K]
        self.ik = 1j * self.k
        self.y, self.D, self.D2, self.dirichlet = _chebyshev_operators(self.n_cheb, self.ly)
        self.poisson_inv = 1.0 / (self.dirichlet.lam[:, None] - self.k[None, :] ** 2)
        self.d_wall = np.ascontiguousarray(self.D[[0, -1]][:, 1:-1])  # psi_y at the walls from interior psi
        self.phase = np.exp(1j * self.k * symmetry_x)
        self._pi_over_dy = np.pi / np.gradient(self.y)
        self._ops = {}
        self._bwd = real_fft((6, self.n_cheb + 1, self.n), 1)
        self._fwd = real_fft((2, self.n_cheb + 1, self.n), 1)
        self._pad = np.zeros((6, self.n_cheb + 1, self.n // 2 + 1), complex)
        self.rate = 0.0  # max(|u| k_max + |v| pi/dy) at the last evaluation: advective CFL = rate * h
        self.max_cfl = 0.0

    def symmetrize(self, state: np.ndarray) -> np.ndarray:
        """Project onto the mirror symmetry about x0: T even, vorticity/streamfunction odd, U = 0."""
        p = self.phase
        out = np.empty_like(state)
        out[0] = 1j * (state[0] * p).imag / p
        out[1] = (state[1] * p).real / p
        out[2] = 1j * (state[2] * p).imag / p
        out[0][:, 0] = 0.0
        out[2][:, 0] = 0.0
        return out

    # ------------------------------------------------------------------ implicit operators
    def _operators(self, c: float) -> dict:
        """Inverse symbols and influence-matrix data of the implicit problem (c - L) u = r."""
        key = round(c, 9)
        if key in self._ops:
            return self._ops[key]
        lam, k2 = self.dirichlet.lam[:, None], self.k[None, :] ** 2
        inv_w = 1.0 / (c + self.nu * (k2 - lam))
        inv_t = 1.0 / (c + self.kappa * (k2 - lam))
        w_h = np.zeros((2, self.n_cheb + 1, self.K))
        psi_h = np.zeros((2, self.n_cheb + 1, self.K))
        for b in range(2):  # unit wall vorticity at y = 0 (b=0) or y = 2 (b=1), no forcing
            rhs = np.repeat(self.nu * self.dirichlet.boundary[:, b : b + 1], self.K, axis=1).astype(complex)
            w_in = self.dirichlet.solve(rhs, inv_w)
            w_h[b, 1:-1] = w_in.real
            w_h[b, 0 if b == 0 else -1] = 1.0
            psi_h[b, 1:-1] = self.dirichlet.solve(-w_in, self.poisson_inv).real
        slopes = np.einsum("wi,bik->kwb", self.d_wall, psi_h[:, 1:-1])  # M[k, wall, b] = psi_h^b'(wall)
        slopes[0] = np.eye(2)  # k = 0 (mean flow) does not use the influence matrix
        m_inv = np.linalg.inv(slopes)
        m_inv[0] = 0.0
        ops = {"inv_w": inv_w, "inv_t": inv_t, "psi_w": -self.poisson_inv * inv_w, "w_h": w_h, "psi_h": psi_h,
               "m_inv": m_inv}
        if len(self._ops) >= 8:  # step changes create a few transient shifts; keep the cache small
            self._ops.pop(next(iter(self._ops)))
        self._ops[key] = ops
        return ops

    # ------------------------------------------------------------------ explicit terms
    def velocity_hat(self, state: np.ndarray) -> tuple:
        """(u_hat, v_hat), mixed space, from the streamfunction and the mean flow."""
        w, psi = state[0], state[2]
        u_hat = cheb.real_matmul(self.D, psi)
        u_hat[:, 0] = w[:, 0]
        return u_hat, -self.ik * psi

    def nonlinear(self, state: np.ndarray) -> tuple:
        """Explicit terms (N_W, N_T): -(u.grad w), -(u.grad T) for k > 0 and -(uv)_y for the mean flow (k = 0).

        Products on the n-point x grid of the 2/3-truncated fields (no aliasing in x) and at the
        Chebyshev nodes in y (collocation). Also updates `rate` for the CFL control.
        """
        w, temp, psi = state
        K = self.K
        d_all = cheb.real_matmul(self.D, np.concatenate([psi, w, temp], axis=1))
        pad = self._pad
        pad[0, :, :K] = d_all[:, :K]  # u = psi_y
        pad[0, :, 0] = w[:, 0]  # mean flow U
        pad[1, :, :K] = -self.ik * psi  # v = -psi_x
        pad[2, :, :K] = self.ik * w  # w_x (zero for k = 0)
        pad[3, :, :K] = d_all[:, K : 2 * K]  # w_y
        pad[3, :, 0] = -(self.D2 @ w[:, 0])  # mean vorticity -U', so w_y = -U''
        pad[4, :, :K] = self.ik * temp
        pad[5, :, :K] = d_all[:, 2 * K :]
        u, v, wx, wy, tx, ty = self._bwd.backward(pad)
        n_hat = self._fwd.forward(np.stack([-(u * wx + v * wy), -(u * tx + v * ty)]))[:, :, :K]
        n_hat[0][:, 0] = -(self.D @ (self.n * np.mean(u * v, axis=1)))
        self.rate = float(np.max(np.abs(u) * self.k[-1] + np.abs(v) * self._pi_over_dy[:, None]))
        return n_hat[0], n_hat[1]

    # ------------------------------------------------------------------ time stepping
    def implicit(self, c: float, rw: np.ndarray, rt: np.ndarray) -> np.ndarray:
        """Solve (c - L) [W, T] = [rw + ik T_new, rt] with the wall conditions; returns the new state."""
        ops = self._operators(c)
        dirichlet = self.dirichlet
        new = np.zeros((3, self.n_cheb + 1, self.K), complex)
        new[1, 1:-1] = dirichlet.solve(rt[1:-1], ops["inv_t"])  # T = 0 at the walls
        rw = rw + self.ik * new[1]  # buoyancy T_x with the new temperature
        e = cheb.real_matmul(dirichlet.vec_inv, rw[1:-1])
        both = cheb.real_matmul(dirichlet.vec, np.concatenate([e * ops["inv_w"], e * ops["psi_w"]], axis=1))
        w_in, psi_in = both[:, : self.K], both[:, self.K :]  # particular solution: w = psi = 0 at the walls
        alpha = -np.einsum("kbw,wk->bk", ops["m_inv"], cheb.real_matmul(self.d_wall, psi_in))
        new[0, 1:-1] = w_in
        new[2, 1:-1] = psi_in
        new[0] += alpha[0] * ops["w_h"][0] + alpha[1] * ops["w_h"][1]  # wall vorticity such that psi_y = 0
        new[2] += alpha[0] * ops["psi_h"][0] + alpha[1] * ops["psi_h"][1]
        new[2][:, 0] = 0.0
        return self.symmetrize(new) if self.symmetric else new

    def step(self, h: float) -> np.ndarray:
        """Advance by h (`SBDF3Stepper.step`), record the advective CFL number reached, return the state."""
        state = super().step(h)
        self.max_cfl = max(self.max_cfl, self.rate * h)
        return state

    # ------------------------------------------------------------------ output
    def output_operator(self, coords_y, coords_x):
        """Callable state -> (3, ny, nx) values of u, v, T at tensor-product output points."""
        iy = cheb.interpolation_matrix(self.n_cheb, coords_y, 0.0, self.ly)
        ex = self.grid.evaluation_matrices((np.asarray(coords_x, float),))[0][:, : self.K]

        def observe(state):
            u_hat, v_hat = self.velocity_hat(state)
            out = np.stack([u_hat, v_hat, state[1]])
            return np.einsum("yj,fjk,xk->fyx", iy, out, ex, optimize=True).real

        return observe

    def divergence(self, state: np.ndarray) -> np.ndarray:
        """u_x + v_y in mixed space (zero to round-off by construction)."""
        u_hat, v_hat = self.velocity_hat(state)
        return self.ik * u_hat + cheb.real_matmul(self.D, v_hat)
