"""Audit of the stored error estimates: each benchmark's `error_estimate.total` against the error measured
against a finer, independent run (no companions) on the same output grid.

Usage:
    python scripts/audit_estimates.py [--quick] [--coarse] [--names a,b,...]

`--quick` uses the registry's quick settings (a small grid), `--coarse` a coarse step on top (the
steps of `COARSE`, near the stability limit). The finer run: spectral benchmarks 2n and dt/4;
Kolmogorov 2n and half the CFL number; Rayleigh-Taylor 1.5x the grid in both directions and half the
step; lid-driven cavity 2n. Measured error = relative L2 over the whole output grid, the largest over
the fields (Rayleigh-Taylor: T; cavity: the speed sqrt(u^2+v^2)), the figures the estimate is
defined on. Prints a markdown table (datasets/README.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from refsolvers import BENCHMARKS
from refsolvers._estimate import relative_differences

# coarse steps: the quick grid's largest steps that do not blow up (see tests/refsolvers/test_estimate.py)
COARSE = {"allen_cahn": {"dt": 0.05}, "kdv": {"dt": 2e-3}, "ks": {"dt": 5e-3}, "gray_scott": {"dt": 2e-3},
          "ginzburg_landau": {"dt": 2e-2}, "kolmogorov": {"cfl": 0.9}, "rayleigh_taylor": {"dt": 5e-2, "cfl": 0.4},
          "lid_driven_cavity": {"n": 16}}
COARSE_DEFAULT = {"allen_cahn": {"dt": 5e-3}, "kdv": {"dt": 1e-3}, "ks": {"dt": 1e-3},
                  "gray_scott": {"dt": 1e-3}, "ginzburg_landau": {"dt": 1e-2}}


def finer(name: str, solver: dict) -> dict:
    """Settings of the independent finer run."""
    s = dict(solver)
    if name == "kolmogorov":
        s.update(n=2 * s["n"], cfl=s["cfl"] / 2, error_check=False)
    elif name == "rayleigh_taylor":
        s.update(n=int(1.5 * s["n"]) + int(1.5 * s["n"]) % 2, n_cheb=int(1.5 * s["n_cheb"]), dt=s["dt"] / 2,
                 cfl=s["cfl"] / 2, error_check=False)
    elif name == "lid_driven_cavity":
        s.update(n=2 * s["n"])
    else:
        s.update(n=2 * s["n"], dt=s["dt"] / 4, error_check=False)
    return s


def measured(name: str, a: dict, b: dict) -> float:
    bench = BENCHMARKS[name]
    if name == "lid_driven_cavity":
        speed = lambda f: np.hypot(f["u"], f["v"])[None, None]  # noqa: E731
        return relative_differences(speed(b), speed(a), ("speed",))["speed"]
    fields = ("T",) if name == "rayleigh_taylor" else bench.fields
    stack = lambda f: np.stack([f[k] for k in fields], 1)  # noqa: E731
    return max(relative_differences(stack(b), stack(a), fields).values())


def audit(name: str, quick: bool, overrides: dict) -> tuple:
    bench = BENCHMARKS[name]
    params, solver, output = bench.settings(quick, **overrides)
    coords = bench.coords(output)
    start = time.perf_counter()
    fields, info = bench.solve(params, solver, coords, False)
    ref, _ = bench.solve(params, finer(name, solver), coords, False)
    est = info["error_estimate"]["total"]
    err = measured(name, fields, ref)
    return info, est, err, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--coarse", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra setting for every audited run (e.g. nu=2e-3)")
    parser.add_argument("--names", default="allen_cahn,kdv,ks,gray_scott,ginzburg_landau,kolmogorov,rayleigh_taylor,"
                                           "lid_driven_cavity")
    args = parser.parse_args()
    table = COARSE if args.quick else COARSE_DEFAULT
    extra = dict(item.split("=", 1) for item in args.set)
    print("| benchmark | settings | dt used | stored estimate | measured error | estimate / error | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.names.split(","):
        overrides = table.get(name, {}) if args.coarse else {}
        if args.coarse and not overrides:
            continue
        overrides = {**extra, **overrides}
        label = ("quick" if args.quick else "default") + "".join(
            f", {k}={v:g}" if not isinstance(v, str) else f", {k}={v}" for k, v in overrides.items())
        info, est, err, wall = audit(name, args.quick, overrides)
        dt = info.get("dt")
        print(f"| {name} | {label} | {dt:.3g} | {est:.2g} | {err:.2g} | {est / err:.2g} | {wall:.0f} |"
              if dt is not None else f"| {name} | {label} | steady | {est:.2g} | {err:.2g} | {est / err:.2g} | "
              f"{wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
