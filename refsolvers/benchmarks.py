"""THE registry: one `Benchmark` entry per reference problem (docs/design.md section 6).

Each entry carries the PDE parameters, the solver defaults (picked by the convergence study in
`scripts/convergence_study.py`), the `--quick` overrides, the output grid and the function that solves
it. Tests, the CLI, dataset scripts and `pinns` all read the same entries.

Adding a PDE = one module (its physics and, at its end, ``BENCHMARK = Benchmark(...)``) plus its
name in `_ENTRY_MODULES` below.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Benchmark:
    """A reference benchmark.

    Attributes:
        name: registry key, also the dataset file stem.
        equation: the PDE in plain text (stored in the file).
        fields: output field names.
        params: PDE parameter defaults (overridable with ``--set``).
        solver: solver setting defaults (e.g. ``n``, ``dt``), overridable with ``--set``.
        quick: overrides applied by ``--quick`` (small, fast; for tests and demos).
        output: output grid, {"t": (t0, t1, nt), "y": (a, b, ny), "x": (a, b, nx)}; keys absent
            for 1-D or steady problems. Every interval includes both ends.
        solve: callable(params, solver, coords, progress) -> (fields, info); fields maps name ->
            float64 array with axes (t, y, x) as present, info is a JSON-able dict (method,
            resolution, dt, "error_estimate", ...).
        periodic: names of the periodic axes (for the PINN periodic embedding).
        metric_fields: fields the paper's relative L2 is computed on.
        exact: optional callable(params, t, [y,] x) -> dict of fields (broadcasting meshes).
        convergence: the default settings' self-convergence figure from the study (documentation).
        pde: the PDE-as-data class (`refsolvers._spectral.SemilinearPDE`) of a Fourier + ETDRK4 benchmark
            (`refsolvers._spectral.spectral_benchmark` builds such entries), else None.
    """

    name: str
    equation: str
    fields: tuple
    params: dict
    solver: dict
    output: dict
    solve: Callable
    quick: dict = field(default_factory=dict)
    periodic: tuple = ()
    metric_fields: tuple = ()
    exact: Callable | None = None
    convergence: dict = field(default_factory=dict)
    pde: type | None = None

    def coords(self, output: dict | None = None) -> dict:
        """Output coordinates {"t": ..., "y": ..., "x": ...} (both ends included)."""
        output = output or self.output
        return {k: np.linspace(*output[k][:2], int(output[k][2])) for k in ("t", "y", "x") if k in output}

    def settings(self, quick: bool = False, **overrides) -> tuple:
        """Resolve (params, solver, output) after `quick` and ``--set`` style `overrides`.

        Each override name must be a PDE parameter, a solver setting, or an output size
        ``nt``/``nx``/``ny``. Raises ValueError on unknown names or invalid values: wrong type, not
        finite, or outside the range `refsolvers.catalog` gives for the key.
        """
        params, solver = dict(self.params), dict(self.solver)
        output = {k: tuple(v) for k, v in self.output.items()}
        items = list(self.quick.items()) if quick else []
        items += list(overrides.items())
        for key, value in items:
            if key in params:
                params[key] = _coerce(value, params[key], key)
            elif key in solver:
                solver[key] = _coerce(value, solver[key], key)
            elif key in ("nt", "nx", "ny") and key[1] in output:
                a, b, _ = output[key[1]]
                output[key[1]] = (a, b, _coerce(value, 1, key))
            else:
                known = sorted(list(params) + list(solver) + ["n" + k for k in output])
                raise ValueError(f"{self.name}: unknown setting {key!r} (known: {', '.join(known)})")
        for key in ("n", "dt", "nt", "nx", "ny"):
            value = solver.get(key) if key in solver else (output.get(key[1], (0, 0, 1))[2] if key[0] == "n" and len(key) == 2 else None)
            if value is not None and not value > 0:
                raise ValueError(f"{self.name}: {key} must be positive, got {value}")
        for k, (a, b, n) in output.items():
            if n < 2:
                raise ValueError(f"{self.name}: n{k} must be at least 2, got {n}")
        from .catalog import check_values  # non-finite and out-of-range values (refsolvers list NAME)

        check_values(self.name, params, solver, output)
        return params, solver, output


def _coerce(value, like, key):
    """Convert a ``--set`` value (often a string) to the type of the default `like`."""
    if not isinstance(value, str):
        return value
    try:
        if isinstance(like, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(like, int):
            as_float = float(value)
            if as_float != int(as_float):
                raise ValueError
            return int(as_float)
        if isinstance(like, float):
            return float(value)
    except ValueError:
        raise ValueError(f"invalid value for {key}: {value!r} (expected {type(like).__name__})") from None
    return value


_ENTRY_MODULES = (
    "refsolvers.pde.wave",
    "refsolvers.pde.burgers",
    "refsolvers.pde.allen_cahn",
    "refsolvers.pde.korteweg_de_vries",
    "refsolvers.pde.kuramoto_sivashinsky",
    "refsolvers.pde.gray_scott",
    "refsolvers.pde.ginzburg_landau",
    "refsolvers.pde.kolmogorov",
    "refsolvers.pde.lid_driven_cavity",
    "refsolvers.pde.rayleigh_taylor",
)


def _load() -> dict:
    entries = {}
    for module in _ENTRY_MODULES:
        bench = importlib.import_module(module).BENCHMARK
        entries[bench.name] = bench
    return entries


BENCHMARKS: dict = _load()


def get(name: str) -> Benchmark:
    """The registry entry `name`; ValueError listing the known names otherwise."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
    return BENCHMARKS[name]


__all__ = ["Benchmark", "BENCHMARKS", "get", "dataclasses"]
