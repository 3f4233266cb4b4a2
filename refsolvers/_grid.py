"""Periodic Fourier grids: nodes, wavenumbers, dealiasing, exact projection and evaluation.

Arrays are stored with the axes in the order (..., y, x); the spectral layout is numpy's
``rfftn`` over the last `ndim` axes (last axis ``nx//2 + 1`` non-negative wavenumbers).
Spectral arrays use the unnormalised convention of ``rfftn`` on the grid samples.
The Nyquist modes are kept at zero everywhere (projection, dealiasing mask), so a spectral
array is a trigonometric polynomial that can be evaluated anywhere (`evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.special
import scipy.fft

from ._fft import RealFFT, real_fft


@dataclass(frozen=True)
class PeriodicGrid:
    """Uniform periodic grid on a box ``[origin, origin + length)`` per axis.

    Args:
        n: number of nodes per axis, ordered (y, x) for 2-D, (x,) for 1-D; even numbers.
        length: period per axis (same order).
        origin: left end per axis (same order).
    """

    n: tuple
    length: tuple
    origin: tuple
    threads: int | None = field(default=None, compare=False)

    def __post_init__(self):
        if len(self.n) != len(self.length) or len(self.n) != len(self.origin):
            raise ValueError("n, length and origin need one entry per axis")
        for n in self.n:
            if int(n) != n or n < 4 or n % 2:
                raise ValueError(f"grid size must be an even integer >= 4, got {n}")

    @property
    def ndim(self) -> int:
        return len(self.n)

    @property
    def shape(self) -> tuple:
        return tuple(int(n) for n in self.n)

    @property
    def spectral_shape(self) -> tuple:
        return self.shape[:-1] + (self.shape[-1] // 2 + 1,)

    def nodes(self, axis: int) -> np.ndarray:
        """Grid nodes along `axis` (no repeated endpoint)."""
        n, length, x0 = self.n[axis], self.length[axis], self.origin[axis]
        return x0 + length * np.arange(n) / n

    def mesh(self) -> tuple:
        """Node coordinates broadcast to `shape` (tuple ordered like the axes)."""
        return tuple(np.meshgrid(*[self.nodes(a) for a in range(self.ndim)], indexing="ij"))

    def wavenumbers(self) -> tuple:
        """Angular wavenumbers per axis (2*pi/L * integer), broadcastable to `spectral_shape`."""
        ks = []
        for a in range(self.ndim):
            n, length = self.shape[a], self.length[a]
            if a == self.ndim - 1:
                k = np.fft.rfftfreq(n, d=1.0 / n)
            else:
                k = np.fft.fftfreq(n, d=1.0 / n)
            k = k * (2 * np.pi / length)
            shape = [1] * self.ndim
            shape[a] = k.size
            ks.append(k.reshape(shape))
        return tuple(ks)

    def wavenumber_squared(self) -> np.ndarray:
        """|k|^2 on the spectral grid (the symbol of -Laplacian)."""
        return sum(k**2 for k in self.wavenumbers()) * np.ones(self.spectral_shape)

    def mode_mask(self, fraction: float = 1.0) -> np.ndarray:
        """Boolean mask of kept modes: |index| < fraction * n/2 per axis; Nyquist always dropped.

        ``fraction=2/3`` is Orszag's two-thirds dealiasing rule; 1.0 keeps all but the Nyquist mode.
        """
        mask = np.ones(self.spectral_shape, dtype=bool)
        for a in range(self.ndim):
            n = self.shape[a]
            idx = np.abs(np.fft.fftfreq(n, d=1.0 / n)) if a < self.ndim - 1 else np.fft.rfftfreq(n, d=1.0 / n)
            keep = idx < fraction * n / 2
            shape = [1] * self.ndim
            shape[a] = idx.size
            mask = mask & keep.reshape(shape)
        return mask

    def fft(self, n_fields: int | None = None) -> RealFFT:
        """The cached FFT for arrays of shape ``(n_fields, *shape)`` (or `shape` when None)."""
        shape = self.shape if n_fields is None else (n_fields,) + self.shape
        return real_fft(shape, self.ndim, self.threads)

    def project(self, f, panels_per_mode: float = 1 / 8, nodes_per_panel: int = 32) -> np.ndarray:
        """Exact Fourier coefficients of f (rfftn normalisation), by composite Gauss-Legendre quadrature.

        Unlike sampling f on the grid, this is exact (to round-off) for functions that are smooth
        on the box but not across its periodic boundary (Allen-Cahn's x^2 cos(pi x)): the result
        is the truncated Fourier series, with no aliasing of the slow 1/k^2 tail. Each axis is cut
        into n/8 panels of 32 Gauss nodes: the fastest mode kept turns by 8*pi per panel, which a
        32-point rule integrates to ~1e-18 (Gauss-Legendre error (e k h / 4 m)^(2m)).

        Args:
            f: callable taking the coordinate arrays ordered like the axes (y, x) -> values of their
                shape, or of shape (..., *their shape): leading axes are carried along (a batch of
                functions, e.g. one per Chebyshev node in y for Rayleigh-Taylor).
        Returns:
            complex array (..., *spectral_shape), Nyquist modes zero.
        """
        z, w = scipy.special.roots_legendre(nodes_per_panel)
        nodes, mats = [], []
        for a in range(self.ndim):
            n, length, x0 = self.shape[a], self.length[a], self.origin[a]
            panels = max(1, int(np.ceil(n * panels_per_mode)))
            h = length / panels
            left = x0 + h * np.arange(panels)
            x = (left[:, None] + 0.5 * h * (z[None, :] + 1.0)).ravel()
            weights = np.tile(0.5 * h * w, panels)
            k = self.wavenumbers()[a].ravel()
            # coefficient_k = n / L * integral f(x) exp(-i k (x - x0)) dx
            mats.append((n / length) * weights[None, :] * np.exp(-1j * np.outer(k, x - x0)))
            nodes.append(x)
        out = np.asarray(f(*np.meshgrid(*nodes, indexing="ij")), dtype=float).astype(complex)
        lead = out.ndim - self.ndim
        # contract each quadrature axis with its matrix, last axis first
        for a in reversed(range(self.ndim)):
            out = np.moveaxis(np.tensordot(mats[a], out, axes=([1], [lead + a])), 0, lead + a)
        return out * self.mode_mask()

    def evaluation_matrices(self, coords: tuple) -> list:
        """Matrices that evaluate a spectral array at output coordinates, one per axis."""
        mats = []
        for a in range(self.ndim):
            n, x0 = self.shape[a], self.origin[a]
            k = self.wavenumbers()[a].ravel()
            x = np.asarray(coords[a], dtype=float)
            m = np.exp(1j * np.outer(x - x0, k)) / n
            if a == self.ndim - 1:  # half spectrum: u = Re(c0 + 2 sum_{k>0} c_k e^{ikx}) / n
                m[:, 1:] *= 2.0
            mats.append(m)
        return mats

    def evaluate(self, u_hat: np.ndarray, coords: tuple, mats: list | None = None) -> np.ndarray:
        """Evaluate the trigonometric polynomial `u_hat` at tensor-product output coordinates.

        Args:
            u_hat: spectral array (..., spectral_shape).
            coords: 1-D coordinate arrays per axis (y, x), any points (not only grid nodes).
            mats: precomputed `evaluation_matrices(coords)` (saves work when called repeatedly).
        Returns:
            real array (..., len(coords[0]), ...).
        """
        mats = mats if mats is not None else self.evaluation_matrices(coords)
        out = u_hat
        lead = u_hat.ndim - self.ndim
        for a in range(self.ndim - 1):
            out = np.moveaxis(np.tensordot(mats[a], out, axes=([1], [lead + a])), 0, lead + a)
        out = np.tensordot(out, mats[-1], axes=([out.ndim - 1], [1]))
        return out.real

    def uniform_counts(self, coords: tuple) -> tuple | None:
        """Point counts m per axis if `coords` are the periodic output grids ``linspace(a, a + L, m)``.

        That is one whole period with both ends (the last point repeats the first, docs/design.md section 6),
        which `evaluate_uniform` handles by FFT. Returns None for any other coordinates.
        """
        counts = []
        for a in range(self.ndim):
            x = np.asarray(coords[a], dtype=float)
            x0, length = self.origin[a], self.length[a]
            if x.ndim != 1 or x.size < 3 or not np.allclose(x, np.linspace(x0, x0 + length, x.size),
                                                            rtol=0, atol=1e-12 * length):
                return None
            counts.append(x.size)
        return tuple(counts)

    def evaluate_uniform(self, u_hat: np.ndarray, counts: tuple) -> np.ndarray:
        """`evaluate` at the periodic output grid of `counts` points per axis (both ends), by FFT.

        The m - 1 distinct points are a uniform grid, so the values there are exactly the inverse DFT
        of the spectrum folded modulo m - 1 (a mode k and k + m - 1 take the same values at those
        points). Same result as `evaluate` to round-off, in O(N log N) time and memory.

        Args:
            u_hat: spectral array (..., spectral_shape).
            counts: output points per axis, ordered like the axes, each >= 3 (see `uniform_counts`).
        Returns:
            real array (..., *counts), the last point of each axis repeating the first.
        """
        lead = u_hat.ndim - self.ndim
        axes = tuple(range(lead, u_hat.ndim))
        c = u_hat / np.prod(self.shape)
        # complete the half spectrum of the last axis: c(-k) = conj(c(k)), k = 1 .. nx/2 - 1
        flipped = np.conj(c[..., 1:self.shape[-1] // 2])
        for a in axes[:-1]:
            flipped = np.roll(np.flip(flipped, axis=a), 1, axis=a)  # index i -> (-i) mod n
        full = np.concatenate([c, flipped[..., ::-1]], axis=-1)
        signed = [np.fft.fftfreq(n, 1.0 / n).astype(int) for n in self.shape[:-1]]
        nx = self.shape[-1]
        signed.append(np.concatenate([np.arange(nx // 2 + 1), -np.arange(nx // 2 - 1, 0, -1)]))
        for a, m, k in zip(axes, counts, signed):
            folded = np.zeros(full.shape[:a] + (m - 1,) + full.shape[a + 1:], dtype=complex)
            src = np.moveaxis(full, a, 0)
            dst = np.moveaxis(folded, a, 0)
            for half in (k >= 0, k < 0):  # k is consecutive within each half: blocks of m-1 never collide
                idx = np.flatnonzero(half)
                for start in range(0, idx.size, m - 1):
                    block = idx[start:start + m - 1]
                    dst[k[block] % (m - 1)] += src[block]
            full = folded
        values = scipy.fft.ifftn(full, axes=axes, norm="forward").real
        return np.pad(values, [(0, 0)] * lead + [(0, 1)] * self.ndim, mode="wrap")

    def to_physical(self, u_hat: np.ndarray) -> np.ndarray:
        """Inverse FFT of (..., spectral_shape) to (..., shape)."""
        lead = u_hat.shape[:-self.ndim]
        return real_fft(lead + self.shape, self.ndim, self.threads).backward(u_hat)

    def to_spectral(self, u: np.ndarray) -> np.ndarray:
        """Forward FFT of (..., shape) to (..., spectral_shape)."""
        lead = u.shape[:-self.ndim]
        return real_fft(lead + self.shape, self.ndim, self.threads).forward(u)
