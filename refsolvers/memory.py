"""Memory a `generate` run will need, estimated from its dominant arrays, against the machine's memory.

The estimate is a rough model (calibrated on the peak resident sizes of the default runs recorded in
datasets/README.md and tests/refsolvers/test_first_hour.py): it exists to refuse, before any work, a
run that cannot fit (``--set n=65536`` for Kolmogorov is terabytes), not to predict the peak closely.

    base       Python, numpy, h5py, scipy:                         ~120 MB
    output     output points x fields x 8 bytes x 4 (main run, one error companion at a time, the
               writer's contiguous copy and its hash)
    spectral   n^d points x fields x 8 bytes x 40 (ETDRK4 coefficients and stages, FFT buffers), x2
               when the companion marches concurrently (Kolmogorov); output evaluation matrices
               (output points per axis x n x 16 bytes); exact projection of the initial data
               (4n quadrature nodes per axis)
    cavity     sparse LU of the 3 n^2 unknowns: ~4.2 kB per unknown at n = 512, growing like log n
    burgers    Cole-Hopf quadrature chunks: 4096 points x 2 nodes x 8 bytes x 10
    rayleigh   Chebyshev operators per Fourier mode: n/2 x n_cheb^2 x 16 bytes x 4
"""

from __future__ import annotations

import math
import os

BASE = 120e6
OUTPUT_COPIES = 4
SPECTRAL_BYTES_PER_POINT = 8 * 40


def total_memory() -> int | None:
    """Physical memory of this machine in bytes (os.sysconf, else /proc/meminfo); None if unknown."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def human(n_bytes: float) -> str:
    """1.2 GiB style."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


def _spectral(n: int, ndim: int, n_fields: int, out_sizes: list, project: bool, concurrent: bool) -> float:
    points = float(n) ** ndim
    state = points * n_fields * SPECTRAL_BYTES_PER_POINT * (2 if concurrent else 1)
    evaluation = sum(float(m) * n * 16 for m in out_sizes)
    projection = 0.0
    if project:
        projection = ndim * (n / 2 + 1) * 4 * n * 16 * 3 + (4.0 * n) ** ndim * 16 * n_fields * 2
    return state + evaluation + projection


def estimate_bytes(bench, params: dict, solver: dict, output: dict) -> float:
    """Rough peak memory in bytes of solving `bench` with these resolved settings (see module docstring)."""
    sizes = {k: int(v[2]) for k, v in output.items()}
    n_fields = len(bench.fields)
    total = BASE + math.prod(sizes.values()) * n_fields * 8.0 * OUTPUT_COPIES
    space = [sizes[k] for k in ("y", "x") if k in sizes]
    if bench.name == "kolmogorov":
        total += _spectral(int(solver["n"]), 2, 3, space, False, bool(solver.get("error_check", True)))
    elif bench.name == "burgers":  # Cole-Hopf: chunks of 4096 points x 2 nodes quadrature, ~10 arrays
        total += 4096 * 2 * int(solver["nodes"]) * 8.0 * 10
        if solver.get("cross_check"):
            total += _spectral(int(solver["check_n"]), 1, 1, space, True, False)
    elif bench.pde is not None and "n" in solver:
        total += _spectral(int(solver["n"]), len(bench.periodic) or 1, n_fields, space, True, False)
    elif bench.name == "lid_driven_cavity":
        n = int(solver["n"])
        total += 4.2e3 * 3 * n * n * max(1.0, math.log2(max(n, 2)) / 9)
    elif bench.name == "rayleigh_taylor":
        n, m = int(solver["n"]), int(solver["n_cheb"])
        total += (n / 2 + 1) * float(m) ** 2 * 16 * 4 + n * m * 3 * 8.0 * 40
    return total


def check_memory(bench, params: dict, solver: dict, output: dict) -> None:
    """Raise MemoryError (one line) when the estimate exceeds this machine's physical memory."""
    need, have = estimate_bytes(bench, params, solver, output), total_memory()
    if have is not None and need > have:
        raise MemoryError(f"{bench.name}: these settings need an estimated {human(need)} of memory, this machine "
                          f"has {human(have)} (lower n, nx, ny or nt)")


__all__ = ["check_memory", "estimate_bytes", "human", "total_memory"]
