"""Command line: ``pinns train``, ``pinns presets``, ``pinns eval``, ``pinns predict``, ``pinns spectrum``, ``pinns list``
(docs/design.md section 3; ``pinns --version``).

Bad input (unknown problem, missing or foreign dataset, corrupt checkpoint, impossible settings)
gets one line on stderr, ``pinns: error: ...``, and exit code 2 before any heavy work; a diverged run
exits 1; Ctrl-C saves the last completed chunk and exits 130.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130
PRESET_DEFAULT = "default: the preset's, see `pinns presets NAME`"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``pinns: error: ...``, exit 2) and every default in ``--help``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"pinns: error: {message} (see {self.prog} --help)\n")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help unless it already names its default or is a flag."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default in (None, argparse.SUPPRESS) or not action.option_strings
                or action.nargs == 0):
            return text
        value = ",".join(map(str, action.default)) if isinstance(action.default, tuple) else action.default
        return f"{text} (default: {value})"


def _version() -> str:
    """The installed distribution's version (importlib.metadata), else the package's ``__version__``."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("refpinn")
    except (ImportError, PackageNotFoundError):
        from . import __version__

        return __version__


def _parser() -> argparse.ArgumentParser:
    from .problems import PROBLEMS
    from .recipes import balance_names
    from .spectrum import DEFAULT_GRIDS

    parser = _Parser(prog="pinns", description="Train and evaluate PINNs on refsolvers benchmarks.")
    parser.add_argument("--version", action="version", version=f"pinns (refpinn) {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a problem into a run folder")
    t.add_argument("name", help=f"problem: {', '.join(PROBLEMS)}")
    t.add_argument("--data", help="folder holding NAME.h5 (or the file); not needed for exact problems (default: none)")
    t.add_argument("--out", required=True, help="run folder (config.json, metrics.jsonl, checkpoint.npz, prediction.png)")
    t.add_argument("--optimizer", help="adam, adamw or soap, or phases such as adam:5000,ssbroyden:50000 "
                   f"(quasi-Newton: bfgs, ssbfgs, ssbroyden, lbfgs; Gauss-Newton: lm, lm_cg, e.g. "
                   f"adam:5000,ssbroyden:6000,lm:150; {PRESET_DEFAULT})")
    t.add_argument("--balance", help=f"{balance_names()} ({PRESET_DEFAULT})")
    t.add_argument("--preset", default="paper", choices=("paper", "quick", "accurate"),
                   help="paper recipe, quick CPU demo, or accurate (compact float64 MLP, Adam then SSBroyden)")
    t.add_argument("--steps", type=_number(int), help=f"steps per time window ({PRESET_DEFAULT})")
    t.add_argument("--seed", type=_number(int, zero=True), help=f"PRNG seed ({PRESET_DEFAULT})")
    t.add_argument("--batch", type=_number(int), help=f"residual points per step ({PRESET_DEFAULT})")
    t.add_argument("--windows", type=_number(int), help=f"time-marching windows ({PRESET_DEFAULT})")
    t.add_argument("--log-every", type=_number(int), dest="log_every", help=f"steps between metrics lines ({PRESET_DEFAULT})")
    t.add_argument("--ckpt-every", type=_number(int), dest="ckpt_every", help=f"steps between checkpoints ({PRESET_DEFAULT})")
    t.add_argument("--dtype", choices=("float32", "float64"), help=f"float32 or float64 ({PRESET_DEFAULT})")
    t.add_argument("--resample-every", type=_number(int, zero=True), dest="resample_every",
                   help=f"keep one batch of points this many steps, 0: new points every step ({PRESET_DEFAULT})")
    t.add_argument("--sampling", choices=("uniform", "rad"), help=f"how kept points are redrawn ({PRESET_DEFAULT})")
    t.add_argument("--until-loss", type=_number(float), dest="until_loss",
                   help=f"stop (checkpointed, reason in stop.json) once a chunk's batch loss is <= this ({PRESET_DEFAULT})")
    t.add_argument("--lm-damping", type=_number(float), dest="lm_damping",
                   help=f"Levenberg-Marquardt: first damping / max diag(J^T J) ({PRESET_DEFAULT})")
    t.add_argument("--lm-scaling", choices=("identity", "diag"), dest="lm_scaling",
                   help=f"Levenberg-Marquardt damping matrix D: I or diag(J^T J) ({PRESET_DEFAULT})")
    t.add_argument("--lm-rule", choices=("nielsen", "decrease"), dest="lm_rule",
                   help=f"Levenberg-Marquardt damping rule ({PRESET_DEFAULT})")
    t.add_argument("--lm-geodesic", type=_number(float, zero=True), dest="lm_geodesic",
                   help=f"geodesic acceleration: largest 2|a|/|delta| accepted, 0: off ({PRESET_DEFAULT})")
    t.add_argument("--budget", type=_number(float),
                   help="stop (checkpointed) after this many wall seconds, > 0; --resume continues (default: no limit)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out (its saved settings; --steps may grow)")
    t.add_argument("--dry-run", action="store_true", dest="dry_run",
                   help="print the resolved configuration as JSON and stop (nothing is written)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    pr = sub.add_parser("presets", help="a problem's resolved training configuration per preset, as JSON (no training)")
    pr.add_argument("name", help=f"problem: {', '.join(PROBLEMS)}")
    pr.add_argument("preset", nargs="?", help="paper, quick or accurate (default: every preset of the problem)")
    pr.add_argument("--data", help="the dataset the run would use (default: none; the settings do not depend on it)")

    e = sub.add_parser("eval", help="print the run's errors against its reference as JSON")
    e.add_argument("run_dir")
    e.add_argument("--plot", help="also write prediction | reference | error to this PNG (default: no figure)")

    s = sub.add_parser("spectrum", help="energy spectra of the PINN and of references at several grids (JSON + PNG)")
    s.add_argument("run_dir")
    s.add_argument("--grids", type=_numbers(int), default=DEFAULT_GRIDS,
                   help="n of the n x n grids, e.g. 128,256 (solve time grows like n^3)")
    s.add_argument("--times", type=_numbers(float, zero=True),
                   help="output times, e.g. 0.5,2 (default: the last trained one)")
    s.add_argument("--field", default="w", help="w, u, v or velocity")
    s.add_argument("--out", help="JSON path (default: RUN_DIR/spectrum.json; the PNG next to it)")
    s.add_argument("--quick", action="store_true", help="references with refsolvers' quick solver settings")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = sub.add_parser("predict", help="the trained network's fields on the reference grid, as a refsolvers/1 HDF5 file")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True, help="FILE.h5 to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing FILE.h5 made otherwise")

    sub.add_parser("list", help="the problems, one a line")
    return parser


def _number(kind, zero: bool = False):
    """argparse type: a finite `kind` > 0 (>= 0 with `zero`)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number ({kind.__name__}), got {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"must be {'>= 0' if zero else '> 0'}, got {text}")
        return value

    return parse


def _numbers(kind, zero: bool = False):
    """argparse type: comma-separated finite `kind` values > 0 (>= 0 with `zero`)."""
    one = _number(kind, zero)

    def parse(text):
        try:
            return tuple(one(v) for v in text.split(",") if v.strip())
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}: {exc}") \
                from None

    return parse


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"pinns: error: {message}", file=sys.stderr)
    return code


def _interrupted(args) -> str:
    """What Ctrl-C leaves behind, per command (only `train` has --resume)."""
    if args.command == "train":
        return "interrupted; the last completed chunk is checkpointed (--resume continues)"
    if args.command == "spectrum":
        import pathlib

        cache = pathlib.Path(args.run_dir) / ("spectrum_refs_quick" if args.quick else "spectrum_refs")
        return (f"interrupted; finished reference grids are kept in {cache} and reused when the same command is "
                "run again")
    return "interrupted; nothing was written"


def main(argv=None) -> int:
    """Entry point of the ``pinns`` console script; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (one line, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from .checkpoint import CheckpointError
    from .config import TrainingError

    try:
        return _dispatch(args)
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 0
    except TrainingError as exc:
        return _fail(str(exc), EXIT_DIVERGED)
    except KeyboardInterrupt:
        return _fail(_interrupted(args), EXIT_INTERRUPTED)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, CheckpointError,
            KeyError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _fail(message)


def _dispatch(args) -> int:
    """Run the parsed subcommand; returns the exit code (errors are raised, `main` reports them)."""
    if args.command == "list":
        from .problems import EXACT, PROBLEMS

        for name in PROBLEMS:
            print(f"{name}{'  (exact solution)' if name in EXACT else ''}")
        return 0
    if args.command == "presets":
        from .training import preset_configs

        print(json.dumps(preset_configs(args.name, args.preset, args.data), indent=1))
        return 0
    if args.command == "eval":
        from .eval import evaluate_run, open_run, plot_run

        run, state = open_run(args.run_dir)
        result = evaluate_run(run, state)
        if args.plot:
            plot_run(run, state, args.plot)
        print(json.dumps(result))
        return 0
    if args.command == "predict":
        from .predict import predict_to_h5

        print(predict_to_h5(args.run_dir, args.out, force=args.force))
        return 0
    if args.command == "spectrum":
        from .spectrum import spectrum_comparison, summary

        result = spectrum_comparison(args.run_dir, grids=args.grids, times=args.times, field=args.field,
                                     out=args.out, quick=args.quick, progress=not args.no_progress, announce=True)
        print(json.dumps(summary(result)))
        return 0
    from .training import check_budget, resolve, train

    overrides = {k: getattr(args, k) for k in ("optimizer", "balance", "steps", "seed", "batch", "windows",
                                               "log_every", "ckpt_every", "dtype", "resample_every", "sampling",
                                               "until_loss", "lm_damping", "lm_scaling", "lm_rule", "lm_geodesic")}
    if args.dry_run:
        check_budget(args.budget)
        cfg = resolve(args.name, args.out, data=args.data, preset=args.preset, resume=args.resume, **overrides)[1]
        print(json.dumps(cfg.to_dict(), indent=1))
        return 0
    result = train(args.name, args.out, data=args.data, preset=args.preset, resume=args.resume,
                   progress=not args.no_progress, budget_s=args.budget, **overrides)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
