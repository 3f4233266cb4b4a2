"""The sample figures of README.md, written into ``docs/figures/`` from run folders.

    python scripts/make_readme_figures.py                                   # burgers + table figures
    python scripts/make_readme_figures.py --spectrum-run runs/kf --grids 128,256,512,1024   # + spectrum

* ``burgers_prediction.png``: PINN prediction | reference | error of a Burgers run (`pinns.eval.plot_run`;
  default: the Adam run of the quick table, ``runs/soap_table/burgers_adam``);
* ``soap_table_error_vs_step.png``: test error (rel L2) vs step, Adam and SOAP, one panel per benchmark
  of a `scripts/reproduce_soap_table.py` output folder (its ``results.json`` names the run folders;
  ``runs/NAME/metrics.jsonl`` copies beside it are used when the run folders are gone);
* ``kolmogorov_spectrum.png``: **made by the lead session from a Kolmogorov run** (not by default):
  `spectrum_figure` copies the PNG of ``RUN_DIR/spectrum.json`` (made by
  ``pinns spectrum RUN_DIR --grids ...``), running the comparison first if that file is missing.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys

import numpy as np

FIGURES = pathlib.Path("docs/figures")
COLORS = {"adam": "tab:blue", "soap": "tab:red", "adamw": "tab:green"}


def prediction_figure(run_dir, out) -> pathlib.Path:
    """prediction | reference | error of the checkpoint in `run_dir` (`pinns.eval.plot_run`) to `out`."""
    from pinns.eval import open_run, plot_run

    run, state = open_run(run_dir)
    return plot_run(run, state, out)


def _metrics(run: dict, table_dir: pathlib.Path) -> list:
    """metrics.jsonl records of one results.json run: its run folder, else the copy in TABLE/runs/NAME."""
    for folder in (pathlib.Path(run["run_dir"]), table_dir / "runs" / pathlib.Path(run["run_dir"]).name):
        path = folder / "metrics.jsonl"
        if path.is_file():
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    raise FileNotFoundError(f"no metrics.jsonl for {run['run_dir']} (nor a copy under {table_dir / 'runs'})")


def error_curves_figure(table_dir, out) -> pathlib.Path:
    """rel L2 vs step of every run in ``table_dir/results.json``, one panel per benchmark, to `out`."""
    from matplotlib.figure import Figure

    table_dir = pathlib.Path(table_dir)
    doc = json.loads((table_dir / "results.json").read_text())
    names = list(dict.fromkeys(r["benchmark"] for r in doc["runs"]))
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(max(3.6 * cols, 7.0), 3.0 * rows), layout="constrained")
    axs = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, name in zip(axs, names):
        for run in (r for r in doc["runs"] if r["benchmark"] == name):
            recs = _metrics(run, table_dir)
            opt, field = run["optimizer"], run["field"]
            ax.semilogy([r["step"] for r in recs], [r["rel_l2"][field] for r in recs], color=COLORS.get(opt),
                        label=f"{opt}: {run['rel_l2']:.1e}")
        ax.set(title=name, xlabel="training step", ylabel=f"rel L2 of {field}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, title="final, whole grid", title_fontsize=7)
    for ax in axs[len(names):]:
        ax.set_visible(False)
    preset = doc["runs"][0]["preset"] if doc["runs"] else ""
    fig.suptitle(f"Test error vs step, Adam vs SOAP (preset {preset}; scripts/reproduce_soap_table.py)")
    out = pathlib.Path(out)
    fig.savefig(out, dpi=100)
    return out


def spectrum_figure(run_dir, out, grids=(128, 256, 512, 1024)) -> pathlib.Path:
    """Energy-spectrum figure of a Kolmogorov run (for the README's "Compare spectra").

    Uses ``RUN_DIR/spectrum.json`` when it exists (``pinns spectrum RUN_DIR --grids ...``), otherwise
    runs `pinns.spectrum.spectrum_comparison(run_dir, grids)` first (reference solves at every grid:
    GPU/long CPU work); copies its PNG to `out`.
    """
    run_dir = pathlib.Path(run_dir)
    path = run_dir / "spectrum.json"
    if path.is_file():
        result = json.loads(path.read_text())
    else:
        from pinns.spectrum import spectrum_comparison

        result = spectrum_comparison(run_dir, grids=tuple(grids), progress=True)
    return pathlib.Path(shutil.copyfile(result["png"][0], out))


def main(argv=None) -> int:
    """Write the README figures; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--burgers-run", default="runs/soap_table/burgers_adam", help="Burgers run folder")
    p.add_argument("--table", default="runs/soap_table", help="reproduce_soap_table.py output folder")
    p.add_argument("--spectrum-run", help="Kolmogorov run folder (lead session; off by default)")
    p.add_argument("--grids", default="128,256,512,1024", help="spectrum grids when spectrum.json is missing")
    p.add_argument("--out", default=str(FIGURES), help="figure folder (default docs/figures)")
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [prediction_figure(args.burgers_run, out / "burgers_prediction.png"),
               error_curves_figure(args.table, out / "soap_table_error_vs_step.png")]
    if args.spectrum_run:  # the lead session's Kolmogorov run
        grids = [int(g) for g in args.grids.split(",") if g.strip()]
        written.append(spectrum_figure(args.spectrum_run, out / "kolmogorov_spectrum.png", grids))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
