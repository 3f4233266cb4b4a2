"""What each benchmark's settings mean: the ``--set`` keys with units, meaning and allowed range, the
long names of the fields (CF ``long_name`` attributes) and the expected generation times.

`describe(name)` is the text of ``refsolvers list NAME``; `check_values(name, params, solver, output)`
refuses non-finite and out-of-range values before any work (`Benchmark.settings` calls it).

Every benchmark is non-dimensional: physical quantities carry the CF unit "1"; counts, flags and
names carry none ("-").
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """One settable key: meaning, unit and allowed range (`lo` < or <= value <= `hi`, or `choices`)."""

    meaning: str
    unit: str = "1"
    lo: float | None = None
    lo_open: bool = True  # value must be > lo (else >= lo)
    hi: float | None = None
    choices: tuple = ()
    flag: bool = False

    def range_text(self) -> str:
        if self.flag:
            return "true | false"
        if self.choices:
            return " | ".join(self.choices)
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"<= {self.hi:g}")
        return ", ".join(parts) or "any finite"

    def check(self, bench: str, key: str, value) -> None:
        """Raise ValueError (one line) for a non-finite or out-of-range `value`."""
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{bench}: {key} must be one of {', '.join(self.choices)}, got {value!r}")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if not math.isfinite(value):
            raise ValueError(f"{bench}: {key} must be finite, got {value}")
        low_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        if low_bad or (self.hi is not None and value > self.hi):
            raise ValueError(f"{bench}: {key} = {value:g} is out of range ({self.range_text()}; {self.meaning})")


POS = dict(lo=0.0)
COUNT = dict(unit="-", lo=1, lo_open=False)
FLAG = dict(unit="-", flag=True)
# solver and output keys shared by several benchmarks
COMMON = {
    "n": Key("Fourier modes (grid points) per periodic axis", "-", lo=8, lo_open=False),
    "dt": Key("time step (upper bound: adjusted to land on the output times)", **POS),
    "dealias": Key("2/3-rule dealiasing of the nonlinear term", **FLAG),
    "cfl": Key("Courant number that sets the step, dt = min(dt, cfl h / max speed); 0: use dt as given",
               lo=0.0, lo_open=False, hi=2.0),
    "error_check": Key("march the error-estimate companions (about 1.1-1.25x the run's cost)", **FLAG),
    "nt": Key("output times (both ends included)", "-", lo=2, lo_open=False),
    "nx": Key("output points in x (both ends included)", "-", lo=2, lo_open=False),
    "ny": Key("output points in y (both ends included)", "-", lo=2, lo_open=False),
}
SEED = Key("random seed of the initial data", "-", lo=0, lo_open=False)

# per benchmark: PDE parameter keys, own solver keys, field long names, expected wall times on the 2-core
# development machine (idle: measured 2026-12-07 for burgers, allen_cahn, kdv, ks and the quick grids;
# the others and "loaded" from the tables of datasets/README.md)
BENCHMARK_DOCS = {
    "wave": dict(
        keys={"c": Key("wave speed", **POS)},
        fields={"u": "displacement"},
        time={"quick": "~1 s", "default": "~3 s"}),
    "burgers": dict(
        keys={"nu": Key("viscosity (default 0.01/pi)", **POS),
              "nodes": Key("trapezoid nodes of the Cole-Hopf quadrature", "-", lo=8, lo_open=False),
              "cross_check": Key("also run the Fourier/ETDRK4 solver and record the difference", **FLAG),
              "check_n": Key("Fourier modes of the cross-check", "-", lo=8, lo_open=False),
              "check_dt": Key("time step of the cross-check", **POS)},
        fields={"u": "velocity"},
        time={"quick": "~1 s", "default": "~2 s idle (cross_check adds 10-30 s)"}),
    "allen_cahn": dict(
        keys={"d": Key("diffusion coefficient", **POS), "a": Key("reaction coefficient", lo=0.0, lo_open=False)},
        fields={"u": "order parameter"},
        time={"quick": "~1 s", "default": "~10 s idle, ~25 s loaded"}),
    "kdv": dict(
        keys={"delta": Key("dispersion length (delta^2 multiplies u_xxx)", **POS)},
        fields={"u": "wave amplitude"},
        time={"quick": "~2 s", "default": "~9 s idle, ~20 s loaded"}),
    "ks": dict(
        keys={"alpha": Key("advection coefficient", lo=0.0, lo_open=False),
              "beta": Key("anti-diffusion coefficient (u_xx)", lo=0.0, lo_open=False),
              "gamma": Key("hyper-diffusion coefficient (u_xxxx)", **POS)},
        fields={"u": "solution u"},
        time={"quick": "~2 s", "default": "~10 s idle, ~20 s loaded"}),
    "gray_scott": dict(
        keys={"eps1": Key("diffusion coefficient of u", **POS), "eps2": Key("diffusion coefficient of v", **POS),
              "b1": Key("feed rate of u", lo=0.0, lo_open=False), "b2": Key("kill rate of v", lo=0.0, lo_open=False),
              "c1": Key("reaction rate in the u equation", lo=0.0, lo_open=False),
              "c2": Key("reaction rate in the v equation", lo=0.0, lo_open=False),
              "v0_form": Key("initial v: gaussian or 1 - gaussian", "-", choices=("gaussian", "one_minus"))},
        fields={"u": "concentration of species u", "v": "concentration of species v"},
        time={"quick": "~2 s", "default": "~30 s idle, ~110 s loaded"}),
    "ginzburg_landau": dict(
        keys={"eps": Key("diffusion coefficient", **POS), "mu": Key("linear growth rate"),
              "gamma_re": Key("real part of the cubic coefficient", lo=0.0, lo_open=False),
              "gamma_im": Key("imaginary part of the cubic coefficient")},
        fields={"u": "real part of A", "v": "imaginary part of A"},
        time={"quick": "~2 s", "default": "~20 s idle, ~90 s loaded"}),
    "kolmogorov": dict(
        keys={"nu": Key("viscosity (Re = 1/nu)", **POS), "forcing_amplitude": Key("forcing amplitude A"),
              "forcing_mode": Key("forcing wavenumber m (below n/3)", "-", lo=1, lo_open=False),
              "seed": SEED, "k_peak": Key("peak wavenumber of the initial spectrum (units of 2 pi)", **POS),
              "energy": Key("initial kinetic energy 1/2 <|u|^2>", **POS)},
        fields={"u": "x velocity", "v": "y velocity", "w": "vorticity"},
        time={"quick": "~2 s (64^2: not converged, a demo)", "default": "~6 min idle, ~15-50 min loaded"}),
    "lid_driven_cavity": dict(
        keys={"re": Key("Reynolds number", **POS),
              "lid": Key("lid profile: smooth (continuous at the corners) or uniform", "-",
                         choices=("smooth", "uniform")),
              "n": Key("cells per side of the finest MAC grid (even)", "-", lo=8, lo_open=False),
              "coarsest": Key("cells per side of the coarsest grid of the sequence", "-", lo=4, lo_open=False),
              "tol": Key("steady residual tolerance max|du/dt|", **POS),
              "dtau0": Key("first pseudo-time step of the continuation", **POS),
              "max_iter": Key("Newton iterations per grid at most", **COUNT)},
        fields={"u": "x velocity", "v": "y velocity", "p": "pressure"},
        time={"quick": "~2 s (Re 100, 32^2)", "default": "~2-3 min idle, ~17 min loaded"}),
    "rayleigh_taylor": dict(
        keys={"pr": Key("Prandtl number", **POS), "ra": Key("Rayleigh number", **POS),
              "delta": Key("interface thickness", **POS),
              "amplitude": Key("interface perturbation amplitude (|a| < 0.5)", lo=-0.5, hi=0.5),
              "interface": Key("interface shape", "-", choices=("abs_sin", "sin_2pi")),
              "n": Key("Fourier points in x (even)", "-", lo=16, lo_open=False),
              "n_cheb": Key("Chebyshev degree in y", "-", lo=16, lo_open=False),
              "symmetric": Key("project onto the mirror symmetry every step", **FLAG),
              "startup_substeps": Key("SBDF1/2 substeps of each of the first two steps", **COUNT),
              "check_factor": Key("grid ratio of the space error companion", lo=0.0, hi=1.0)},
        fields={"u": "x velocity", "v": "y velocity", "T": "temperature"},
        time={"quick": "~2 s", "default": "~2.5 min idle, ~15 min loaded"}),
}

COORD_LONG_NAMES = {"t": "time", "y": "y coordinate", "x": "x coordinate"}


def key_doc(name: str, key: str) -> Key | None:
    """The `Key` of setting `key` of benchmark `name` (own entry first, then the shared ones)."""
    doc = BENCHMARK_DOCS.get(name, {}).get("keys", {})
    return doc.get(key) or COMMON.get(key)


def long_name(benchmark: str, field: str) -> str:
    """CF ``long_name`` of a field or coordinate (the field name itself when unknown)."""
    if field in COORD_LONG_NAMES:
        return COORD_LONG_NAMES[field]
    return BENCHMARK_DOCS.get(benchmark, {}).get("fields", {}).get(field, field)


def check_values(name: str, params: dict, solver: dict, output: dict) -> None:
    """Refuse non-finite or out-of-range parameters, solver settings and output sizes (ValueError)."""
    sizes = {"n" + k: v[2] for k, v in output.items()}
    for group in (params, solver, sizes):
        for key, value in group.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name}: {key} must be finite, got {value}")
            doc = key_doc(name, key)
            if doc is not None:
                doc.check(name, key, value)


def describe(bench) -> str:
    """Text of ``refsolvers list NAME``: keys with defaults, units, ranges and meaning; grids; times."""
    from .memory import estimate_bytes, human

    docs = BENCHMARK_DOCS.get(bench.name, {})
    lines = [f"{bench.name}: {bench.equation}", f"fields: {', '.join(bench.fields)}"
             + (f"   periodic axes: {', '.join(bench.periodic)}" if bench.periodic else ""), ""]
    rows = [("key", "default", "quick", "unit", "range", "meaning")]
    out_keys = {"n" + k: v[2] for k, v in bench.output.items()}
    for key, default in {**bench.params, **bench.solver, **out_keys}.items():
        doc = key_doc(bench.name, key) or Key("(undocumented)", "-")
        quick = bench.quick.get(key, "")
        rows.append((key, f"{default:g}" if isinstance(default, float) else str(default),
                     f"{quick:g}" if isinstance(quick, float) else str(quick), doc.unit, doc.range_text(),
                     doc.meaning))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5] for r in rows]
    lines.append("")
    for label, quick in (("paper grid", False), ("quick grid", True)):
        params, solver, output = bench.settings(quick)
        grid = ", ".join(f"{k} {output[k][2]} on [{output[k][0]:g}, {output[k][1]:g}]"
                          for k in ("t", "y", "x") if k in output) or "-"
        res = ", ".join(f"{k}={solver[k]:g}" for k in ("n", "n_cheb", "nodes", "dt", "cfl") if k in solver)
        mem = human(estimate_bytes(bench, params, solver, output))
        time = docs.get("time", {}).get("quick" if quick else "default", "?")
        lines.append(f"{label}: {grid}; solver {res or '-'}; expected time {time}; memory ~{mem} (estimate)")
    lines.append("set with: refsolvers generate " + bench.name + " --out DIR --set KEY=VALUE")
    return "\n".join(lines)


__all__ = ["BENCHMARK_DOCS", "COMMON", "Key", "check_values", "describe", "key_doc", "long_name"]
