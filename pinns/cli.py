"""Command line: ``pinns train``, ``pinns eval``, ``pinns predict``, ``pinns spectrum``, ``pinns list`` (docs/design.md section 3).

Bad input (unknown problem, missing or foreign dataset, corrupt checkpoint, impossible settings)
gets one line on stderr, ``pinns: error: ...``, and exit code 2 before any heavy work; a diverged run
exits 1; Ctrl-C saves the last completed chunk and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130


def _parser() -> argparse.ArgumentParser:
    from .problems import PROBLEMS
    from .recipes import balance_names

    parser = argparse.ArgumentParser(prog="pinns", description="Train and evaluate PINNs on refsolvers benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a problem into a run folder")
    t.add_argument("name", help=f"problem: {', '.join(PROBLEMS)}")
    t.add_argument("--data", help="folder holding NAME.h5 (or the file); not needed for exact problems")
    t.add_argument("--out", required=True, help="run folder (config.json, metrics.jsonl, checkpoint.npz, prediction.png)")
    t.add_argument("--optimizer", help="adam, adamw or soap, or phases such as adam:5000,ssbroyden:50000 "
                   "(quasi-Newton: bfgs, ssbfgs, ssbroyden, lbfgs; default: the preset's)")
    t.add_argument("--balance", help=f"{balance_names()} (default: the preset's)")
    t.add_argument("--preset", default="paper", choices=("paper", "quick", "accurate"),
                   help="paper recipe (default), quick CPU demo, or accurate (compact float64 MLP, Adam then SSBroyden)")
    t.add_argument("--steps", type=int, help="steps per time window")
    t.add_argument("--seed", type=int, help="PRNG seed")
    t.add_argument("--batch", type=int, help="residual points per step")
    t.add_argument("--windows", type=int, help="time-marching windows")
    t.add_argument("--log-every", type=int, dest="log_every", help="steps between metrics lines")
    t.add_argument("--ckpt-every", type=int, dest="ckpt_every", help="steps between checkpoints")
    t.add_argument("--dtype", choices=("float32", "float64"))
    t.add_argument("--resample-every", type=int, dest="resample_every",
                   help="keep one batch of points this many steps (0: new points every step)")
    t.add_argument("--sampling", choices=("uniform", "rad"), help="how kept points are redrawn")
    t.add_argument("--budget", type=float, help="stop (checkpointed) after this many wall seconds; --resume continues")
    t.add_argument("--resume", action="store_true", help="continue the run in --out (its saved settings; --steps may grow)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("eval", help="print the run's errors against its reference as JSON")
    e.add_argument("run_dir")
    e.add_argument("--plot", help="also write prediction | reference | error to this PNG")

    s = sub.add_parser("spectrum", help="energy spectra of the PINN and of references at several grids (JSON + PNG)")
    s.add_argument("run_dir")
    s.add_argument("--grids", type=_numbers(int), default=(128, 256, 512, 1024), help="n of the n x n grids, e.g. 128,256")
    s.add_argument("--times", type=_numbers(float), help="output times, e.g. 0.5,2 (default: the last trained one)")
    s.add_argument("--field", default="w", help="w (default), u, v or velocity")
    s.add_argument("--out", help="JSON path (default RUN_DIR/spectrum.json; PNGs next to it)")
    s.add_argument("--quick", action="store_true", help="references with refsolvers' quick solver settings")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = sub.add_parser("predict", help="the trained network's fields on the reference grid, as a refsolvers/1 HDF5 file")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True, help="FILE.h5 to write")

    sub.add_parser("list", help="the problems, one a line")
    return parser


def _numbers(kind):
    def parse(text):
        try:
            return tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}") from None

    return parse


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"pinns: error: {message}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    """Entry point of the ``pinns`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    from .checkpoint import CheckpointError
    from .config import TrainingError

    try:
        if args.command == "list":
            from .problems import EXACT, PROBLEMS

            for name in PROBLEMS:
                print(f"{name}{'  (exact solution)' if name in EXACT else ''}")
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

            print(predict_to_h5(args.run_dir, args.out))
            return 0
        if args.command == "spectrum":
            from .spectrum import spectrum_comparison, summary

            result = spectrum_comparison(args.run_dir, grids=args.grids, times=args.times, field=args.field,
                                         out=args.out, quick=args.quick, progress=not args.no_progress)
            print(json.dumps(summary(result)))
            return 0
        from .training import train

        overrides = {k: getattr(args, k) for k in ("optimizer", "balance", "steps", "seed", "batch", "windows",
                                                   "log_every", "ckpt_every", "dtype", "resample_every", "sampling")}
        result = train(args.name, args.out, data=args.data, preset=args.preset, resume=args.resume,
                       progress=not args.no_progress, budget_s=args.budget, **overrides)
        print(json.dumps(result))
        return 0
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 0
    except TrainingError as exc:
        return _fail(str(exc), EXIT_DIVERGED)
    except KeyboardInterrupt:
        return _fail("interrupted; the last completed chunk is checkpointed (--resume continues)", EXIT_INTERRUPTED)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, CheckpointError,
            KeyError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _fail(message)


if __name__ == "__main__":
    sys.exit(main())
