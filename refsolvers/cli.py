"""Command line: ``refsolvers list [NAME] | generate | info | plot`` (docs/design.md section 3).

Bad input (unknown name or key, non-finite or out-of-range value, too little memory, a bad
REFSOLVERS_THREADS, an existing file of other settings) is one line on stderr, exit 2, before any work.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

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
    from .benchmarks import BENCHMARKS, get
    from .catalog import describe

    if args.names:
        print("\n\n".join(describe(get(name)) for name in args.names))
        return 0
    for name, bench in BENCHMARKS.items():
        print(f"{name:18s} {_grid_text(bench):28s} fields {','.join(bench.fields)}")
    print("details (settable keys, defaults, grids, expected time): refsolvers list NAME", file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    from ._fft import threads_from_env
    from ._io import read_h5
    from .benchmarks import BENCHMARKS, get
    from .generate import check_output_dir, generate, removing_created_folders, settings_difference
    from .memory import check_memory

    threads_from_env()  # a bad REFSOLVERS_THREADS is refused now, not in the middle of a run
    names = list(BENCHMARKS) if args.names == ["all"] else args.names
    overrides = _parse_sets(args.set)
    resolved = {}
    # validate everything before any heavy work: names, keys, values, memory
    for name in names:
        resolved[name] = get(name).settings(args.quick, **_own_overrides(name, overrides, len(names)))
    if len(names) > 1:
        for key in overrides:
            if not any(key in _known_settings(get(name)) for name in names):
                raise ValueError(f"unknown setting {key!r} for every requested benchmark")
    for name in names:
        check_memory(get(name), *resolved[name])
    with removing_created_folders(args.out):
        out = check_output_dir(args.out)
        kept = []
        for name in names:
            path = out / f"{name}.h5"
            if path.exists() and not args.force:
                difference = settings_difference(path, name, args.quick, *resolved[name])
                if difference:
                    raise FileExistsError(f"{path} exists with other settings ({difference}); --force recomputes it")
                kept.append(name)
        for name in names:
            if name in kept:
                print(f"refsolvers: {out / (name + '.h5')} exists with the same settings: kept (--force recomputes it)",
                      file=sys.stderr)
                continue
            own = _own_overrides(name, overrides, len(names))
            path = generate(name, out, quick=args.quick, force=args.force, progress=not args.no_progress, **own)
            data = read_h5(path)
            if data.solver.get("dt_adjusted"):
                print(f"refsolvers: note: {name}: {data.solver['dt_adjusted']}", file=sys.stderr)
            if data.attrs.get("demo_reason"):
                print(f"refsolvers: warning: {name}: {data.attrs['demo_reason']}; recorded as demo = 1",
                      file=sys.stderr)
            est = data.solver.get("error_estimate", {}).get("total")
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


def strict_json(obj):
    """`obj` with every non-finite float replaced by None, so that ``json.dumps(allow_nan=False)`` works."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _finite_range(v):
    finite = v[np.isfinite(v)]
    return (float(finite.min()), float(finite.max())) if finite.size else (None, None)


def cmd_info(args) -> int:
    from ._io import read_h5
    from .benchmarks import BENCHMARKS, get
    from .catalog import describe

    if args.file in BENCHMARKS and not os.path.exists(args.file):  # `refsolvers info kolmogorov`
        print(describe(get(args.file)))
        return 0
    from .generate import demo_reason

    data = read_h5(args.file)
    reason = data.attrs.get("demo_reason") or demo_reason(data.solver, bool(data.solver.get("quick")))
    summary = {
        "benchmark": data.benchmark,
        "demo": reason is not None,
        "demo_reason": reason,
        "equation": data.attrs.get("equation"),
        "params": data.params,
        "solver": data.solver,
        "coords": {k: {"n": int(v.size), "min": float(v.min()), "max": float(v.max())} for k, v in data.coords.items()},
        "fields": {k: {"shape": list(v.shape), "dims": data.dims.get(k), "scales": data.scales.get(k),
                       "min": _finite_range(v)[0], "max": _finite_range(v)[1],
                       "non_finite": int(v.size - np.count_nonzero(np.isfinite(v)))}
                   for k, v in data.items()},
        "created": data.attrs.get("created"),
        "version": data.attrs.get("version"),
    }
    print(json.dumps(strict_json(summary), indent=2, allow_nan=False))
    if reason:
        print(f"refsolvers: warning: {args.file} is a demo file: {reason}", file=sys.stderr)
    return 0


def cmd_plot(args) -> int:
    from .plotting import plot_dataset

    out = plot_dataset(args.file, args.out, spectrum=args.spectrum, field=args.field)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="refsolvers", formatter_class=fmt,
                                     description="Converged reference solutions for PINN benchmarks.")
    parser.add_argument("--version", action="version", version=f"refsolvers {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    lst = sub.add_parser("list", help="list the benchmarks; with NAMEs their settable keys, grids and times",
                         formatter_class=fmt)
    lst.add_argument("names", nargs="*", metavar="NAME", help="benchmark(s) to describe in full")
    lst.set_defaults(func=cmd_list)
    gen = sub.add_parser("generate", help="solve benchmarks and write DIR/NAME.h5", formatter_class=fmt,
                         epilog="An existing file with the same settings is kept; one with other settings is "
                                "refused unless --force. Keys of --set: refsolvers list NAME.")
    gen.add_argument("names", nargs="+", metavar="NAME", help="benchmark names, or 'all'")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--quick", action="store_true", help="small grid and few outputs (tests, demos)")
    gen.add_argument("--force", action="store_true", help="recompute and overwrite existing files")
    gen.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                     help="override a parameter, solver setting or output size (keys: refsolvers list NAME)")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.set_defaults(func=cmd_generate)
    info = sub.add_parser("info", help="describe a dataset file (strict JSON), or a benchmark NAME",
                          formatter_class=fmt)
    info.add_argument("file", help="DIR/NAME.h5, or a benchmark name")
    info.set_defaults(func=cmd_info)
    plot = sub.add_parser("plot", help="plot a dataset to PNG", formatter_class=fmt)
    plot.add_argument("file", help="DIR/NAME.h5")
    plot.add_argument("--out", required=True, help="PNG path")
    plot.add_argument("--field", default=None, help="field to plot (None: the first metric field)")
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
    except (ValueError, FileExistsError, FileNotFoundError, PermissionError, OSError, MemoryError) as exc:
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
