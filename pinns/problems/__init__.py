"""The PINN problem registry: one small file per PDE, each with ``build(data) -> Problem``.

`get_problem(name, data)` builds a problem; `data` is a folder holding ``NAME.h5``, a file, a loaded
dataset, or None for problems with an exact solution. Adding a problem = one module with a
``build`` function (see `burgers.py`) plus its name in `_MODULES`.
"""

from __future__ import annotations

import importlib

from ._base import Problem, Reference, d, from_benchmark, grid_reference, laplacian, load_dataset, taylor

_MODULES = {
    "wave": "wave",
    "burgers": "burgers",
    "allen_cahn": "allen_cahn",
    "kdv": "kdv",
    "ks": "ks",
    "gray_scott": "gray_scott",
    "ginzburg_landau": "ginzburg_landau",
    "lid_driven_cavity": "lid_driven_cavity",
    "kolmogorov": "kolmogorov",
    "rayleigh_taylor": "rayleigh_taylor",
    "reaction_diffusion": "reaction_diffusion",
    "helmholtz": "helmholtz",
    "poisson_inverse": "poisson_inverse",
}

#: problems whose reference is an exact solution (``--data`` may be left out)
EXACT = ("wave", "reaction_diffusion", "helmholtz", "poisson_inverse")


def available() -> tuple:
    """Names of the problems whose module is importable."""
    names = []
    for name, module in _MODULES.items():
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError:
            continue
        names.append(name)
    return tuple(names)


PROBLEMS = tuple(_MODULES)


def get_problem(name: str, data=None) -> Problem:
    """Build problem `name` from `data` (folder with NAME.h5, a file, a loaded dataset, or None).

    Raises:
        ValueError: unknown name, a dataset of another benchmark, a problem that needs data.
        FileNotFoundError: the dataset file does not exist.
    """
    if name not in _MODULES:
        raise ValueError(f"unknown problem {name!r} (known: {', '.join(_MODULES)})")
    try:
        module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    except ModuleNotFoundError as exc:
        raise ValueError(f"problem {name!r} is not available yet ({exc})") from None
    if data is None and name not in EXACT:
        raise ValueError(f"{name} needs a reference dataset: --data DIR with {name}.h5")
    return module.build(data)


__all__ = ["EXACT", "PROBLEMS", "Problem", "Reference", "available", "d", "from_benchmark", "get_problem",
           "grid_reference", "laplacian", "load_dataset", "taylor"]
