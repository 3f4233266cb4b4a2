"""What a PINN problem is (`Problem`), forward-mode derivative helpers, and the dataset/registry glue.

A problem file (one per PDE) describes only the physics: its residual, which fields it trains,
its boundary data and its presets. Domain, periodic axes, PDE parameters, initial data and the
reference solution come from the refsolvers registry entry and the HDF5 dataset (`from_benchmark`),
or from the problem file itself for the AutoBalance problems, which have no dataset.
"""

from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

COORD_ORDER = ("t", "y", "x")


# ----------------------------------------------------------------------------- derivatives


def unit(z, axis: int):
    """The unit vector e_axis shaped like z."""
    return jnp.zeros_like(z).at[axis].set(1.0)


def d(f: Callable, axis: int) -> Callable:
    """z -> df/dz_axis (forward mode, one jvp). Nest for higher orders: d(d(f, 1), 1)."""

    def df(z):
        return jax.jvp(f, (z,), (unit(z, axis),))[1]

    return df


def taylor(f: Callable, z, axis: int, order: int) -> list:
    """[f, f', ..., f^(order)] along `axis` at z, by nested forward mode (jvp of jvp ...)."""
    e = unit(z, axis)

    def lift(g):  # g: z -> tuple of k derivatives  ->  z -> tuple of k + 1
        def h(z):
            primal, tangent = jax.jvp(g, (z,), (e,))
            return (*primal, tangent[-1])

        return h

    g = lambda z: (f(z),)  # noqa: E731
    for _ in range(order):
        g = lift(g)
    return list(g(z))


def initial_1d(fn: Callable) -> Callable:
    """zs (1,) -> (1,): a refsolvers initial function ``fn(x, xp)`` evaluated with jax.numpy."""
    return lambda zs: jnp.atleast_1d(fn(zs[0], jnp))


def laplacian(f: Callable, z, axes: tuple) -> jnp.ndarray:
    """Sum of second derivatives of f along `axes` at z."""
    return sum(taylor(f, z, a, 2)[2] for a in axes)


# ----------------------------------------------------------------------------- problem


@dataclass(frozen=True)
class Reference:
    """A reference solution on a grid.

    Attributes:
        coords: axis name -> 1-D array, in the problem's axis order.
        fields: field name -> array shaped by the coords (axis order as `coords`).
    """

    coords: dict
    fields: dict

    @property
    def shape(self) -> tuple:
        return tuple(len(c) for c in self.coords.values())

    def points(self) -> np.ndarray:
        """All grid points, (N, d), C order of the field arrays."""
        mesh = np.meshgrid(*self.coords.values(), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)


@dataclass(frozen=True)
class Problem:
    """A PINN problem: residual, conditions, domain, PDE parameters and reference.

    Attributes:
        name: registry name.
        axes: input coordinates, time first when present: ("t", "x"), ("t", "y", "x"), ("y", "x").
        fields: network outputs, e.g. ("u",) or ("u", "v", "p").
        domain: axis -> (lo, hi).
        residual: residual(u, params, z) -> (n_eq,), u: (d,) -> (n_fields,) one point.
        equations: loss-term name of each residual component.
        params: PDE parameters (read from the dataset or the registry, never retyped).
        periodic: axes with an exact periodic embedding of period hi - lo.
        initial: (points (n0, d - 1), values (n0, len(initial_fields))) at t = lo of "t", or None.
        initial_fields: fields the initial condition constrains (default: all).
        initial_rate: also impose u_t = 0 at t0 (loss term "ic_t"; the wave equation).
        initial_fn: u0 as a JAX function of the space coordinates, zs (d - 1,) -> (len(initial_fields),),
            the same function refsolvers starts from (for hard constraints, `pinns.constraints`); None
            where the initial data exists only as samples.
        dirichlet: g(z) -> (len(bc_fields),) prescribed boundary values (None: zero).
        bc_fields: fields the Dirichlet condition constrains (default: all).
        bc_faces: ((axis, 0 | 1), ...) faces carrying the Dirichlet condition (default: both ends of
            every non-periodic space axis).
        data: observations (points (n, d), values (n,), field index (n,)), or None.
        reference: the solution to compare against (dataset or exact).
        metric_fields: fields of the paper's metric.
        derived: name -> fn(u, z) -> scalar, reference fields computed from the network (vorticity).
        loss_weights: fixed weight per loss term (default 1).
        presets: "paper" / "quick" -> overrides of the training configuration.
        t_max: train and compare only up to this time (None: the whole reference).
        source: where the parameters and reference came from (a dataset path or "exact").
    """

    name: str
    axes: tuple
    fields: tuple
    domain: dict
    residual: Callable
    equations: tuple = ("res",)
    params: dict = field(default_factory=dict)
    periodic: tuple = ()
    initial: tuple | None = None
    initial_fields: tuple | None = None
    initial_rate: bool = False
    initial_fn: Callable | None = None
    dirichlet: Callable | None = None
    bc_fields: tuple | None = None
    bc_faces: tuple | None = None
    data: tuple | None = None
    reference: Reference | None = None
    metric_fields: tuple = ()
    derived: dict = field(default_factory=dict)
    loss_weights: dict = field(default_factory=dict)
    presets: dict = field(default_factory=dict)
    source: str = ""

    @property
    def time_dependent(self) -> bool:
        return "t" in self.axes

    @property
    def space_axes(self) -> tuple:
        return tuple(a for a in self.axes if a != "t")

    @property
    def periods(self) -> dict:
        return {a: self.domain[a][1] - self.domain[a][0] for a in self.periodic}

    @property
    def ic_fields(self) -> tuple:
        return tuple(self.initial_fields or self.fields)

    @property
    def dirichlet_fields(self) -> tuple:
        return tuple(self.bc_fields or self.fields)

    @property
    def faces(self) -> tuple:
        if self.bc_faces is not None:
            return tuple(self.bc_faces)
        return tuple((a, s) for a in self.space_axes if a not in self.periodic for s in (0, 1))

    @property
    def terms(self) -> tuple:
        """Loss-term names, in the order used for weights and per-term gradients."""
        names = list(self.equations)
        if self.initial is not None:
            names += ["ic"] if len(self.ic_fields) == 1 else [f"ic_{f}" for f in self.ic_fields]
        if self.initial_rate:
            names.append("ic_t")
        if self.faces:
            names.append("bc")
        if self.data is not None:
            names.append("data")
        return tuple(names)

    def replace(self, **changes) -> "Problem":
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------- datasets


def load_dataset(name: str, data):
    """The refsolvers dataset for benchmark `name`: `data` is a folder holding NAME.h5, a file, or loaded.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a refsolvers dataset, a dataset of another benchmark, or one holding NaN / inf
            values (`check_finite`).
    """
    import refsolvers

    if isinstance(data, dict):
        ds = data
    else:
        path = pathlib.Path(data)
        if path.is_dir() or (not path.exists() and path.suffix != ".h5"):  # a folder, made or not yet
            path = path / f"{name}.h5"
        if not path.is_file():
            hint = f"refsolvers generate {name} --out {path.parent}"
            if path.name != f"{name}.h5":  # generate names its file NAME.h5
                hint += f", then --data {path.parent}"
            raise FileNotFoundError(f"no dataset for {name} at {path} (make one: {hint})")
        ds = refsolvers.read_h5(path)
        ds.path = str(path)
    if ds.benchmark != name:
        raise ValueError(f"dataset {getattr(ds, 'path', '')} is for benchmark {ds.benchmark!r}, not {name!r}")
    check_finite(ds)
    return ds


def check_finite(ds) -> None:
    """ValueError (one line naming the file and the field) if a field or coordinate of dataset `ds` holds a
    NaN or an infinity: a PINN cannot be trained or scored against it."""
    arrays = {**{f"coordinate {k!r}": v for k, v in getattr(ds, "coords", {}).items()},
              **{f"field {k!r}": v for k, v in ds.items()}}
    for what, values in arrays.items():
        values = np.asarray(values)
        if values.dtype.kind in "fc":
            bad = int(values.size - np.count_nonzero(np.isfinite(values)))
            if bad:
                raise ValueError(f"dataset {getattr(ds, 'path', '') or ds.benchmark}: {what} holds {bad} non-finite "
                                 f"value(s) (NaN or inf) of {values.size}; regenerate it (refsolvers generate "
                                 f"{ds.benchmark} --force)")


def from_benchmark(name: str, data, residual: Callable, fields: tuple, *, t_max: float | None = None,
                   **problem_kwargs) -> Problem:
    """Build a problem from the refsolvers registry entry `name` and its dataset.

    Domain, periodic axes, parameters, initial data and reference all come from the dataset when
    `data` is given (folder, file or loaded `refsolvers.read_h5` result), else from the registry's
    exact solution (ValueError if the benchmark has none).
    """
    import refsolvers

    bench = refsolvers.get(name)
    if data is None:
        if bench.exact is None:
            raise ValueError(f"{name} has no exact solution: give --data DIR with {name}.h5")
        params = dict(bench.params)
        coords = bench.coords()
        axes = tuple(a for a in COORD_ORDER if a in coords)
        mesh = np.meshgrid(*(coords[a] for a in axes), indexing="ij")
        ref_fields = {k: np.asarray(v, dtype=np.float64) * np.ones(mesh[0].shape)
                      for k, v in bench.exact(params, *mesh).items()}
        source = "exact"
        periodic = tuple(bench.periodic)
        metric = tuple(bench.metric_fields or bench.fields)
    else:
        ds = load_dataset(name, data)
        params = dict(ds.params)
        coords = dict(ds.coords)
        axes = tuple(a for a in COORD_ORDER if a in coords)
        ref_fields = {k: np.asarray(v) for k, v in ds.items()}
        source = getattr(ds, "path", "dataset")
        periodic = tuple(p for p in ds.attrs.get("periodic", ",".join(bench.periodic)).split(",") if p)
        metric = tuple(m for m in ds.attrs.get("metric_fields", "").split(",") if m) or \
            tuple(bench.metric_fields or bench.fields)
    if t_max is not None and "t" in coords:
        keep = coords["t"] <= t_max + 1e-12
        coords["t"] = coords["t"][keep]
        ref_fields = {k: v[keep] for k, v in ref_fields.items()}
    coords = {a: np.asarray(coords[a], dtype=np.float64) for a in axes}
    domain = {a: (float(c[0]), float(c[-1])) for a, c in coords.items()}
    initial = None
    ic_fields = problem_kwargs.get("initial_fields") or fields
    if "t" in axes:
        space = [coords[a] for a in axes if a != "t"]
        mesh = np.meshgrid(*space, indexing="ij")
        points = np.stack([m.ravel() for m in mesh], axis=-1)
        missing = [f for f in ic_fields if f not in ref_fields]
        if missing:
            raise ValueError(f"{name}: dataset has no field(s) {missing} for the initial condition")
        values = np.stack([ref_fields[f][0].ravel() for f in ic_fields], axis=-1)
        initial = (points, values)
    return Problem(name=name, axes=axes, fields=tuple(fields), domain=domain, residual=residual,
                   params=params, periodic=periodic, initial=initial,
                   reference=Reference(coords, ref_fields), metric_fields=metric, source=source,
                   **problem_kwargs)


def grid_reference(axes: tuple, domain: dict, n: int | dict, exact: Callable) -> Reference:
    """Reference on a uniform grid (n points per axis, both ends) from exact(points (N, d)) -> {field: (N,)}."""
    counts = n if isinstance(n, dict) else {a: n for a in axes}
    coords = {a: np.linspace(*domain[a], counts[a]) for a in axes}
    ref = Reference(coords, {})
    values = exact(ref.points())
    return Reference(coords, {k: np.asarray(v, dtype=np.float64).reshape(ref.shape) for k, v in values.items()})


__all__ = ["Problem", "Reference", "check_finite", "d", "from_benchmark", "grid_reference", "initial_1d", "laplacian", "load_dataset", "taylor",
           "unit"]
