"""Wave equation u_tt = c^2 u_xx on x in [0, 1], u(0) = u(1) = 0, exact solution.

`c` is the wave speed (default 2). u0 = sin(pi x) + 1/2 sin(4 pi x), u_t(0) = 0, so
u = sin(pi x) cos(c pi t) + 1/2 sin(4 pi x) cos(4 c pi t) (d'Alembert / separation of variables).
"""

import numpy as np

from ..benchmarks import Benchmark

EQUATION = "u_tt = c^2 u_xx, x in [0,1], u(t,0) = u(t,1) = 0, u(0,x) = sin(pi x) + 0.5 sin(4 pi x), u_t(0,x) = 0"
PARAMS = {"c": 2.0}


def exact(params: dict, t, x, xp=np) -> dict:
    """Exact u(t, x) (broadcasting arrays); `xp` is the array module (numpy, or jax.numpy)."""
    c = params["c"]
    return {"u": xp.sin(xp.pi * x) * xp.cos(c * xp.pi * t) + 0.5 * xp.sin(4 * xp.pi * x) * xp.cos(4 * c * xp.pi * t)}


def initial(x, xp=np):
    """u0(x) = u(0, x) (u_t(0, x) = 0); `xp` is the array module (numpy, or jax.numpy)."""
    return exact(PARAMS, 0.0, x, xp)["u"]


def solve(params, solver, coords, progress=True):
    t, x = np.meshgrid(coords["t"], coords["x"], indexing="ij")
    info = {"method": "exact (separation of variables)", "error_estimate": {"total": 0.0,
            "definition": "closed form evaluated in float64 (round-off only)"}}
    return exact(params, t, x), info


BENCHMARK = Benchmark(
    name="wave", equation=EQUATION, fields=("u",), params=PARAMS, solver={},
    quick={"nt": 21, "nx": 64},
    output={"t": (0.0, 1.0, 200), "x": (0.0, 1.0, 128)},
    solve=solve, exact=exact, metric_fields=("u",),
)
