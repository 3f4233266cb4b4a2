"""refsolvers: converged reference solutions for PINN benchmarks, written as self-describing HDF5.

Public API: `generate(name, out_dir, quick=False, **overrides)`, the registry `BENCHMARKS`,
`read_h5`/`write_h5`, and the shared spectral machinery (`PeriodicGrid`, `ETDRK4`).
"""

__version__ = "0.1.0"

from ._etdrk import ETDRK4, etdrk4_coefficients  # noqa: E402
from ._grid import PeriodicGrid  # noqa: E402
from ._io import read_h5, write_h5  # noqa: E402
from ._rollout import BlowUpError  # noqa: E402
from .benchmarks import BENCHMARKS, Benchmark, get  # noqa: E402
from .generate import generate  # noqa: E402

__all__ = ["BENCHMARKS", "Benchmark", "BlowUpError", "ETDRK4", "PeriodicGrid", "etdrk4_coefficients", "generate",
           "get", "read_h5", "write_h5", "__version__"]
