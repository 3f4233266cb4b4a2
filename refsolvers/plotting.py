"""PNG figures of datasets: space-time field (1-D), snapshots (2-D), steady fields, energy spectra."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._io import read_h5  # noqa: E402


def plot_dataset(path, out, spectrum: bool = False, field: str | None = None, n_snapshots: int = 4) -> pathlib.Path:
    """Draw dataset `path` to PNG `out`; returns the PNG path.

    1-D time-dependent: the (t, x) field as an image. 2-D time-dependent: `n_snapshots` snapshots.
    Steady 2-D: one panel per field. ``spectrum=True``: log-log isotropic energy spectrum of the
    field at the output times (2-D periodic data only).
    """
    data = read_h5(path)
    field = field or data.attrs.get("metric_fields", "").split(",")[0] or next(iter(data))
    if field not in data:
        raise ValueError(f"{path} has no field {field!r} (fields: {', '.join(data)})")
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    values, c = data[field], data.coords
    title = f"{data.benchmark}: {field}"
    if spectrum:
        from .spectrum import energy_spectrum, plot_spectra

        if "x" not in c or "y" not in c:
            raise ValueError("--spectrum needs a 2-D field")
        frames = values if "t" in c else values[None]
        times = c["t"] if "t" in c else [None]
        picks = np.unique(np.linspace(0, len(frames) - 1, min(n_snapshots, len(frames))).astype(int))
        curves = {}
        for i in picks:
            k, e = energy_spectrum(frames[i])
            curves[f"t = {times[i]:.3g}" if times[i] is not None else field] = (k, e)
        plot_spectra(curves, out, title=f"{title}: energy spectrum")
        return out
    if "t" in c and "y" not in c:
        fig, ax = plt.subplots(figsize=(8, 4))
        im = ax.pcolormesh(c["t"], c["x"], values.T, shading="auto", cmap="RdBu_r")
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        fig.colorbar(im, ax=ax, label=field)
    elif "t" in c:
        picks = np.unique(np.linspace(0, len(c["t"]) - 1, n_snapshots).astype(int))
        fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 3.6), squeeze=False)
        vmin, vmax = values.min(), values.max()
        for ax, i in zip(axes[0], picks):
            im = ax.pcolormesh(c["x"], c["y"], values[i], shading="auto", cmap="RdBu_r", vmin=vmin, vmax=vmax)
            ax.set_title(f"t = {c['t'][i]:.3g}")
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.set_aspect("equal")
        fig.colorbar(im, ax=list(axes[0]), label=field)
    else:
        names = list(data)
        fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
        for ax, name in zip(axes[0], names):
            im = ax.pcolormesh(c["x"], c["y"], data[name], shading="auto", cmap="RdBu_r")
            ax.set_title(name)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.set_aspect("equal")
            fig.colorbar(im, ax=ax)
    fig.suptitle(title)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
