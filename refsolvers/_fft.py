"""Real-to-complex FFTs over the last axes, through pyfftw with cached plans (scipy.fft fallback).

One `RealFFT` object is built per (shape, axes); it owns aligned input/output buffers and the
FFTW plans, so a time step does no planning and no allocation beyond the returned copy.

Threads: `REFSOLVERS_THREADS` overrides; otherwise one thread for small transforms (where the
thread start-up costs more than it saves), and for transforms of 2**15 points or more the plans are
built for one thread and for all cores and the faster pair, timed right there, is kept: on an idle
2-core machine two threads are ~1.8x faster, but up to 10x slower when the other core is busy.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

try:  # pragma: no cover - exercised implicitly
    import pyfftw

    HAVE_PYFFTW = True
except ImportError:  # pragma: no cover
    pyfftw = None
    HAVE_PYFFTW = False

import scipy.fft

_LARGE = 2**15
_MEASURE_FROM = 2**14


def threads_from_env() -> int | None:
    """The `REFSOLVERS_THREADS` override as a positive int, None when unset or empty.

    Raises ValueError (one line) for anything else: ``abc``, ``-3``, ``0``, ``1.5``.
    """
    env = os.environ.get("REFSOLVERS_THREADS", "").strip()
    if not env:
        return None
    try:
        threads = int(env)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"invalid value REFSOLVERS_THREADS={env!r}: expected a positive integer (FFT threads)")
    return threads


def default_threads(n_points: int) -> int | None:
    """FFT threads for `n_points` real points: the override, 1 when small, None = time both."""
    env = threads_from_env()
    if env:
        return env
    cores = os.cpu_count() or 1
    return 1 if n_points < _LARGE or cores == 1 else None


class RealFFT:
    """Forward/backward real FFT over the last `ndim` axes of arrays of a fixed shape.

    Args:
        shape: shape of the real (physical-space) array, e.g. ``(2, ny, nx)`` for two fields.
        ndim: number of trailing axes transformed (1 or 2).
        threads: FFTW threads; None picks `default_threads`.
        backend: "pyfftw", "scipy", "numpy" or None: the `REFSOLVERS_FFT` environment variable, else
            pyfftw when installed (numpy is the plain baseline of `scripts/bench_solvers.py`).

    Attributes:
        spectral_shape: shape of the complex array, last axis ``nx//2 + 1``.
    """

    def __init__(self, shape, ndim: int = 1, threads: int | None = None, backend: str | None = None):
        self.shape = tuple(int(s) for s in shape)
        self.axes = tuple(range(len(self.shape) - ndim, len(self.shape)))
        self.spectral_shape = self.shape[:-1] + (self.shape[-1] // 2 + 1,)
        n_points = int(np.prod([self.shape[a] for a in self.axes]))
        self._inv_n = 1.0 / n_points
        self.threads = threads or default_threads(n_points)
        self.backend = backend or os.environ.get("REFSOLVERS_FFT") or ("pyfftw" if HAVE_PYFFTW else "scipy")
        if self.backend == "pyfftw":
            if not HAVE_PYFFTW:
                raise RuntimeError("pyfftw backend requested but pyfftw is not installed")
            self._real = pyfftw.empty_aligned(self.shape, dtype="float64")
            self._cplx = pyfftw.empty_aligned(self.spectral_shape, dtype="complex128")
            # measured plans pay off only for large transforms; planning time is capped either way
            self._flags = ("FFTW_MEASURE",) if n_points >= _MEASURE_FROM else ("FFTW_ESTIMATE",)
            if self.threads is None:
                self.threads = min((1, os.cpu_count()), key=self._time_plans)
            self._fwd, self._bwd = self._plans(self.threads)
        elif self.backend == "scipy" and self.threads is None:
            self.threads = 1
        elif self.backend not in ("scipy", "numpy"):
            raise ValueError(f"unknown FFT backend {self.backend!r} (use 'pyfftw', 'scipy' or 'numpy')")

    def _plans(self, threads: int) -> tuple:
        common = dict(axes=self.axes, threads=threads, planning_timelimit=2.0)
        fwd = pyfftw.FFTW(self._real, self._cplx, direction="FFTW_FORWARD", flags=self._flags, **common)
        bwd = pyfftw.FFTW(self._cplx, self._real, direction="FFTW_BACKWARD",
                          flags=self._flags + ("FFTW_DESTROY_INPUT",), **common)
        return fwd, bwd

    def _time_plans(self, threads: int, repeats: int = 5) -> float:
        """Best time of a forward + backward pair with `threads` threads (seconds)."""
        fwd, bwd = self._plans(threads)
        self._real[...] = 1.0
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            fwd.execute()
            bwd.execute()
            best = min(best, time.perf_counter() - start)
        return best

    def forward(self, u: np.ndarray) -> np.ndarray:
        """Return rfftn(u) over the transformed axes (unnormalised), a new complex array."""
        if self.backend == "scipy":
            return scipy.fft.rfftn(u, axes=self.axes, workers=self.threads)
        if self.backend == "numpy":
            return np.fft.rfftn(u, axes=self.axes)
        self._real[...] = u
        self._fwd.execute()
        return self._cplx.copy()

    def backward(self, u_hat: np.ndarray) -> np.ndarray:
        """Return irfftn(u_hat) (normalised so that backward(forward(u)) == u), a new real array."""
        if self.backend == "scipy":
            return scipy.fft.irfftn(u_hat, s=[self.shape[a] for a in self.axes], axes=self.axes,
                                    workers=self.threads)
        if self.backend == "numpy":
            return np.fft.irfftn(u_hat, s=[self.shape[a] for a in self.axes], axes=self.axes)
        self._cplx[...] = u_hat
        self._bwd.execute()  # execute() does not normalise; __call__ would, at the cost of a copy
        return self._real * self._inv_n


@functools.lru_cache(maxsize=32)
def real_fft(shape: tuple, ndim: int, threads: int | None = None, backend: str | None = None) -> RealFFT:
    """Cached `RealFFT` for this shape (plans are made once per process)."""
    return RealFFT(shape, ndim, threads, backend)
