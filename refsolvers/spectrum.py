"""Isotropic energy spectra of 2-D periodic fields (docs/design.md section 10).

    E(k) = 1/2 sum_{k - 1/2 <= |kappa| < k + 1/2} |f_hat(kappa)|^2,    k = 0, 1, 2, ...

f_hat are the Fourier coefficients of the field (``fft2`` divided by the number of grid points, i.e.
the mean over the grid of f exp(-2 pi i kappa.x / L)), kappa integer wavevectors (units of 2 pi / L).
Then sum_k E(k) = 1/2 <f^2> (Parseval), and E(0) = 1/2 mean(f)^2 holds the mean alone.

Grids: our datasets include both ends of each periodic interval, the last row and column repeating
the first (docs/design.md section 6). ``drop_endpoint=True`` (the default) removes them and checks that they
do repeat; pass ``drop_endpoint=False`` for a plain n x n periodic grid (no repeated endpoint).
"""

from __future__ import annotations

import numpy as np

# float32 networks repeat the endpoint to ~1e-7; a grid without it differs by ~2 pi k/n >> 1e-4
_ENDPOINT_RTOL = 1e-4


def _periodic_part(field: np.ndarray, drop_endpoint: bool) -> np.ndarray:
    f = np.asarray(field, dtype=float)
    if f.ndim != 2:
        raise ValueError(f"expected a 2-D field (y, x), got shape {f.shape}")
    if not drop_endpoint:
        return f
    scale = np.max(np.abs(f)) or 1.0
    mismatch = max(np.max(np.abs(f[-1] - f[0])), np.max(np.abs(f[:, -1] - f[:, 0]))) / scale
    if mismatch > _ENDPOINT_RTOL:
        raise ValueError(f"last row/column do not repeat the first (relative mismatch {mismatch:.2g}): pass "
                         "drop_endpoint=False for a periodic grid without the repeated endpoint")
    return f[:-1, :-1]


def energy_spectrum(field: np.ndarray, length: float = 1.0, drop_endpoint: bool = True) -> tuple:
    """Return the shell-summed spectrum (k, E) of a 2-D periodic field on a square box.

    Args:
        field: real array (ny, nx), axes (y, x), samples of one period (see `drop_endpoint`).
        length: box side L. E does not depend on it; the returned k is kappa / L (cycles per unit
            length), which is the integer shell index for the unit box.
        drop_endpoint: the last row and column repeat the first (dataset convention) and are dropped.
    Returns:
        k: float (K,), shell wavenumbers 0, 1, ..., K - 1 divided by `length`, K - 1 the largest
            shell that holds a mode (round(sqrt(2) n / 2)).
        E: float (K,), E(k) as defined in the module docstring.
    Raises:
        ValueError: not 2-D, or `drop_endpoint` and the edges do not repeat.
    """
    f = _periodic_part(field, drop_endpoint)
    ny, nx = f.shape
    f_hat = np.fft.fft2(f) / f.size
    kappa = np.hypot(*np.meshgrid(np.fft.fftfreq(ny, 1.0 / ny), np.fft.fftfreq(nx, 1.0 / nx), indexing="ij"))
    shell = np.floor(kappa + 0.5).astype(int)  # k - 1/2 <= |kappa| < k + 1/2
    energy = np.bincount(shell.ravel(), weights=0.5 * np.abs(f_hat.ravel()) ** 2)
    return np.arange(energy.size) / length, energy


def velocity_spectrum(u: np.ndarray, v: np.ndarray, length: float = 1.0, drop_endpoint: bool = True) -> tuple:
    """Kinetic-energy spectrum (k, E_u + E_v) of a 2-D velocity field; arguments as `energy_spectrum`."""
    k, e_u = energy_spectrum(u, length, drop_endpoint)
    _, e_v = energy_spectrum(v, length, drop_endpoint)
    return k, e_u + e_v


def departure_wavenumber(k: np.ndarray, e1: np.ndarray, e2: np.ndarray, rel: float = 0.1,
                         floor: float = 0.0):
    """First k >= 1 where |E1 - E2| > rel * E2 (E2 the reference), or None if they never depart.

    Args:
        k, e1, e2: a common wavenumber axis and two spectra on it (the shorter length is used).
        rel: relative tolerance (0.1: "differ by more than 10 %").
        floor: ignore shells where both spectra are below floor * max(E2) (round-off level).
    """
    size = min(len(k), len(e1), len(e2))
    k, e1, e2 = (np.asarray(a, dtype=float)[:size] for a in (k, e1, e2))
    meaningful = np.maximum(e1, e2) >= floor * np.max(e2)
    differ = np.abs(e1 - e2) > rel * np.abs(e2)
    hits = np.flatnonzero(differ & meaningful & (np.arange(size) >= 1))
    return float(k[hits[0]]) if hits.size else None


def wavenumber_label(length: float = 1.0) -> str:
    """Axis label of the integer shell index k of `energy_spectrum` on a box of side `length`.

    "wavenumber k (units of 2π/L, L = 2)": the box length is named, never folded into "2π/1".
    """
    return f"wavenumber k (units of 2π/L, L = {length:g})"


def plot_spectra(curves: dict, path, title: str = "", xlabel: str = "wavenumber k (units of 2π/L)",
                 ylabel: str = "E(k)", floor: float = 1e-20):
    """Write a log-log PNG of spectra: `curves` maps label -> (k, E).

    k = 0 is skipped, and so are shells below `floor` times the largest E of all curves (the
    round-off plateau beyond a dealiasing cut-off would otherwise stretch the axis over 30 decades).
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    top = max((float(np.max(e)) for _, e in curves.values() if np.size(e)), default=0.0)
    for label, (k, e) in curves.items():
        k, e = np.asarray(k, float), np.asarray(e, float)
        ok = (k > 0) & (e > max(floor * top, 0.0))
        ax.loglog(k[ok], e[ok], label=label, lw=1.2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, which="both", alpha=0.3)
    if curves:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


__all__ = ["departure_wavenumber", "energy_spectrum", "plot_spectra", "velocity_spectrum", "wavenumber_label"]
