"""Command line: ``refsolvers list | generate | info | plot`` (docs/design.md section 3)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__


def _parse_sets(items) -> dict:
    overrides = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def _grid_text(bench) -> str:
    parts = [f"{k}={bench.output[k][2]}" for k in ("t", "y", "x") if k in bench.output]
    return " x ".join(parts) if parts else "-"


def cmd_list(args) -> int:
    from .benchmarks import BENCHMARKS

    for name, bench in BENCHMARKS.items():
        print(f"{name:18s} {_grid_text(bench):28s} fields {','.join(bench.fields)}")
    return 0


def cmd_generate(args) -> int:
    from ._io import read_h5
    from .benchmarks import BENCHMARKS, get
    from .generate import check_output_dir, generate

    names = list(BENCHMARKS) if args.names == ["all"] else args.names
    overrides = _parse_sets(args.set)
    # validate everything before any heavy work
    for name in names:
        get(name).settings(args.quick, **_own_overrides(name, overrides, len(names)))
    if len(names) > 1:
        for key in overrides:
            if not any(key in _known_settings(get(name)) for name in names):
                raise ValueError(f"unknown setting {key!r} for every requested benchmark")
    out = check_output_dir(args.out)
    for name in names:
        if (out / f"{name}.h5").exists() and not args.force:
            raise FileExistsError(f"{out / (name + '.h5')} exists (use --force to overwrite)")
    for name in names:
        own = _own_overrides(name, overrides, len(names))
        path = generate(name, out, quick=args.quick, force=args.force, progress=not args.no_progress, **own)
        solver = read_h5(path).solver
        if solver.get("dt_adjusted"):
            print(f"refsolvers: note: {name}: {solver['dt_adjusted']}", file=sys.stderr)
        est = solver.get("error_estimate", {}).get("total")
        print(f"wrote {path}" + (f"  (estimated relative L2 error {est:.2g})" if est is not None else ""))
    return 0


def _known_settings(bench) -> set:
    return set(bench.params) | set(bench.solver) | {"n" + k for k in bench.output}


def _own_overrides(name, overrides, n_names):
    """With several benchmarks, each takes only the --set keys it knows."""
    from .benchmarks import get

    if n_names == 1:
        return overrides
    known = _known_settings(get(name))
    return {k: v for k, v in overrides.items() if k in known}


def cmd_info(args) -> int:
    from ._io import read_h5

    data = read_h5(args.file)
    summary = {
        "benchmark": data.benchmark,
        "equation": data.attrs.get("equation"),
        "params": data.params,
        "solver": data.solver,
        "coords": {k: {"n": int(v.size), "min": float(v.min()), "max": float(v.max())} for k, v in data.coords.items()},
        "fields": {k: {"shape": list(v.shape), "dims": data.dims.get(k), "scales": data.scales.get(k),
                       "min": float(v.min()), "max": float(v.max())}
                   for k, v in data.items()},
        "created": data.attrs.get("created"),
        "version": data.attrs.get("version"),
    }
    print(json.dumps(summary, indent=2))
    return 0


def cmd_plot(args) -> int:
    from .plotting import plot_dataset

    out = plot_dataset(args.file, args.out, spectrum=args.spectrum, field=args.field)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refsolvers", description="Converged reference solutions for PINN benchmarks.")
    parser.add_argument("--version", action="version", version=f"refsolvers {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the benchmarks and their output grids").set_defaults(func=cmd_list)
    gen = sub.add_parser("generate", help="solve benchmarks and write DIR/NAME.h5")
    gen.add_argument("names", nargs="+", metavar="NAME", help="benchmark names, or 'all'")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--quick", action="store_true", help="small grid and few outputs (tests, demos)")
    gen.add_argument("--force", action="store_true", help="overwrite existing files")
    gen.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a parameter or solver setting")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.set_defaults(func=cmd_generate)
    info = sub.add_parser("info", help="describe a dataset file")
    info.add_argument("file")
    info.set_defaults(func=cmd_info)
    plot = sub.add_parser("plot", help="plot a dataset to PNG")
    plot.add_argument("file")
    plot.add_argument("--out", required=True, help="PNG path")
    plot.add_argument("--field", default=None, help="field to plot (default: the first metric field)")
    plot.add_argument("--spectrum", action="store_true", help="log-log energy spectrum of a 2-D periodic field")
    plot.set_defaults(func=cmd_plot)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:  # `refsolvers info FILE | head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # and no second error at exit
        return 0
    except (ValueError, FileExistsError, FileNotFoundError, PermissionError, OSError) as exc:
        print(f"refsolvers: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("refsolvers: interrupted (no partial file was written)", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # BlowUpError and solver failures
        print(f"refsolvers: error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
