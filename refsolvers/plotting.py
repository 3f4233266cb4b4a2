"""PNG figures of datasets: space-time field (1-D), snapshots (2-D), steady fields, energy spectra.

Figure convention shared with `pinns` (import these constants rather than repeating them):

* `TIME_AXIS` = "vertical": a space-time image has x horizontal and t vertical (t increasing upwards);
* `CMAP_SIGNED` = "RdBu_r" for fields that take both signs, with limits symmetric about 0 so that
  white is 0; `CMAP_SEQUENTIAL` = "viridis" for fields of one sign (concentrations, temperature);
* every panel is titled by the field it shows; `image_style(values)` returns the colormap and limits.
"""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._io import read_h5  # noqa: E402

TIME_AXIS = "vertical"
CMAP_SIGNED = "RdBu_r"
CMAP_SEQUENTIAL = "viridis"


def image_style(values) -> dict:
    """pcolormesh keywords of the convention: `CMAP_SIGNED` with limits +-max|v| for signed data, else sequential."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0 < hi:
        top = max(-lo, hi)
        return {"cmap": CMAP_SIGNED, "vmin": -top, "vmax": top}
    return {"cmap": CMAP_SEQUENTIAL, "vmin": lo, "vmax": hi}


def _spectrum(data, path, out, field, title, n_snapshots):
    from .spectrum import energy_spectrum, plot_spectra, wavenumber_label

    c = data.coords
    if "x" not in c or "y" not in c:
        raise ValueError(f"--spectrum needs a 2-D field; {data.benchmark} has axes {','.join(c)}")
    periodic = [a for a in str(data.attrs.get("periodic", "")).split(",") if a]
    if not {"x", "y"} <= set(periodic):
        raise ValueError(f"--spectrum needs a field periodic in x and y; {data.benchmark} ({path}) is not periodic"
                         + (f" (periodic axes: {','.join(periodic)})" if periodic else ""))
    lx, ly = float(c["x"][-1] - c["x"][0]), float(c["y"][-1] - c["y"][0])
    if not np.isclose(lx, ly):
        raise ValueError(f"--spectrum needs a square box; {data.benchmark} is {lx:g} x {ly:g}")
    values = data[field]
    frames = values if "t" in c else values[None]
    times = c["t"] if "t" in c else [None]
    picks = np.unique(np.linspace(0, len(frames) - 1, min(n_snapshots, len(frames))).astype(int))
    curves = {}
    for i in picks:
        k, e = energy_spectrum(frames[i])
        curves[f"t = {times[i]:.3g}" if times[i] is not None else field] = (k, e)
    plot_spectra(curves, out, title=f"{title}: energy spectrum", xlabel=wavenumber_label(lx))
    return out


def plot_dataset(path, out, spectrum: bool = False, field: str | None = None, n_snapshots: int = 4) -> pathlib.Path:
    """Draw dataset `path` to PNG `out`; returns the PNG path.

    1-D time-dependent: the (x, t) field as an image, t vertical. 2-D time-dependent: `n_snapshots`
    snapshots of `field`. Steady 2-D: one panel per field, each titled by its field. ``spectrum=True``:
    log-log isotropic energy spectrum at the output times (2-D fields periodic in x and y only).
    """
    data = read_h5(path)
    field = field or data.attrs.get("metric_fields", "").split(",")[0] or next(iter(data))
    if field not in data:
        raise ValueError(f"{path} has no field {field!r} (fields: {', '.join(data)})")
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if spectrum:
        return _spectrum(data, path, out, field, f"{data.benchmark}: {field}", n_snapshots)
    fig = dataset_figure(data, field, n_snapshots)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def dataset_figure(data, field: str, n_snapshots: int = 4):
    """The matplotlib Figure of `plot_dataset` for a loaded dataset (`read_h5`), without saving it."""
    values, c = data[field], data.coords
    title = f"{data.benchmark}: {field}"
    if "t" in c and "y" not in c:
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        im = ax.pcolormesh(c["x"], c["t"], values, shading="auto", **image_style(values))
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label=field)
    elif "t" in c:
        picks = np.unique(np.linspace(0, len(c["t"]) - 1, n_snapshots).astype(int))
        fig, axes = plt.subplots(1, len(picks), figsize=(3.6 * len(picks) + 1.0, 3.8), squeeze=False,
                                 layout="constrained")
        style = image_style(values)
        for j, (ax, i) in enumerate(zip(axes[0], picks)):
            im = ax.pcolormesh(c["x"], c["y"], values[i], shading="auto", **style)
            ax.set_title(f"{field}, t = {c['t'][i]:.3g}")
            ax.set_xlabel("x")
            if j == 0:
                ax.set_ylabel("y")
            else:
                ax.tick_params(labelleft=False)
            ax.set_aspect("equal")
        fig.colorbar(im, ax=list(axes[0]), label=field, shrink=0.85)
        fig.suptitle(data.benchmark)
    else:
        names = list(data)
        fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False, layout="constrained")
        for ax, name in zip(axes[0], names):
            im = ax.pcolormesh(c["x"], c["y"], data[name], shading="auto", **image_style(data[name]))
            ax.set_title(name)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.set_aspect("equal")
            fig.colorbar(im, ax=ax, shrink=0.85)
        fig.suptitle(data.benchmark)
    return fig


__all__ = ["CMAP_SEQUENTIAL", "CMAP_SIGNED", "TIME_AXIS", "dataset_figure", "image_style", "plot_dataset"]
