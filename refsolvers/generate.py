"""`generate`: solve a registry benchmark and write ``DIR/NAME.h5`` (the HDF5 contract).

An existing file is compared with the settings a run would record (`settings_difference`): the same
settings make a second run a no-op (``skip_same``), other settings are refused without ``force``. A
file whose own error estimate exceeds `DEMO_THRESHOLD` is marked ``demo = 1`` with ``demo_reason``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pathlib
import tempfile
import time

import h5py
import numpy as np

from ._fft import threads_from_env
from ._io import SCHEMA, _jsonable, remove_stale_temporaries, write_h5
from .benchmarks import get
from .memory import check_memory

DEMO_THRESHOLD = 1e-2  # relative L2 error estimate above which a file is a demo, not a converged reference


def check_output_dir(out_dir) -> pathlib.Path:
    """Create `out_dir` if needed and make sure we can write there (before any heavy work)."""
    out = pathlib.Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(f"output folder {out} is not writable")
    # os.access says yes to root even on a read-only mount or an immutable folder: really create a file
    try:
        fd, probe = tempfile.mkstemp(prefix=".refsolvers-probe-", dir=out)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise PermissionError(f"output folder {out} is not writable ({exc.strerror or exc})") from None
    return out


@contextlib.contextmanager
def removing_created_folders(out_dir):
    """On failure (any exception, Ctrl-C included) remove the folders of `out_dir` this block created, if empty."""
    out = pathlib.Path(out_dir).absolute()
    missing = [p for p in [out, *out.parents] if not p.exists()]
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
        raise


def _roundtrip(obj):
    return json.loads(json.dumps(_jsonable(obj)))


def _differs(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return not (a == b or (math.isnan(a) and math.isnan(b)))
    return a != b


def settings_difference(path, name: str, quick: bool, params: dict, solver: dict, output: dict) -> str | None:
    """None when the file `path` records exactly these settings, else a short text naming the first difference.

    Compared: benchmark name, PDE parameters, solver settings, the ``--quick`` flag and the output grid
    (size and end points of every coordinate). Only attributes and coordinates are read, not the fields.
    """
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") != SCHEMA:
                return "it is not a refsolvers/1 file"
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            coords = {k: f[k][()] for k in ("t", "y", "x") if k in f}
    except OSError as exc:
        return f"it cannot be read ({exc})"
    if attrs.get("benchmark") != name:
        return f"benchmark {attrs.get('benchmark')!r} in the file"
    try:
        recorded_params, recorded_solver = json.loads(attrs["params"]), json.loads(attrs["solver"])
    except (KeyError, TypeError, json.JSONDecodeError):
        return "its params/solver attributes are missing or damaged"
    if bool(recorded_solver.get("quick", False)) != bool(quick):
        return f"made {'with' if recorded_solver.get('quick') else 'without'} --quick"
    if "settings" not in recorded_solver:
        return "it records no solver settings"
    for old, new in ((recorded_params, _roundtrip(params)), (recorded_solver["settings"], _roundtrip(solver))):
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new or _differs(old[key], new[key]):
                return f"{key} = {old.get(key, 'absent')} in the file, {new.get(key, 'absent')} requested"
    if set(coords) != set(output):
        return f"axes {','.join(coords)} in the file, {','.join(output)} requested"
    for axis, (a, b, n) in output.items():
        c = np.asarray(coords[axis], dtype=float)
        if c.size != int(n) or not (np.isclose(c[0], a, rtol=1e-12, atol=1e-14)
                                    and np.isclose(c[-1], b, rtol=1e-12, atol=1e-14)):
            return (f"n{axis} = {c.size} on [{c[0]:g}, {c[-1]:g}] in the file, {int(n)} on [{a:g}, {b:g}] "
                    "requested")
    return None


def demo_reason(info: dict, quick: bool) -> str | None:
    """Why a file with this solver `info` is a demo (its own estimate is not small), or None."""
    total = info.get("error_estimate", {}).get("total")
    if total is None:
        return None
    if not math.isfinite(total) or total > DEMO_THRESHOLD:
        where = "the --quick grid does" if quick else "these settings do"
        return (f"estimated relative L2 error {total:.2g} > {DEMO_THRESHOLD:g}: {where} not resolve the "
                "solution (a demo file, not a converged reference)")
    return None


def generate(name: str, out_dir, quick: bool = False, force: bool = False, progress: bool = True,
             exist_ok: bool = False, skip_same: bool = False, **overrides) -> pathlib.Path:
    """Solve benchmark `name` and write ``out_dir/name.h5``.

    Args:
        name: registry name (see `refsolvers.BENCHMARKS`).
        out_dir: output folder (created if missing; removed again if the run fails and it is empty).
        quick: use the entry's small `quick` settings (tests, demos).
        force: overwrite an existing file (otherwise FileExistsError).
        exist_ok: an existing file is kept and its path returned (nothing is solved), whatever its settings.
        skip_same: an existing file made with the same settings is kept and its path returned; one made
            with other settings raises FileExistsError naming the difference.
        progress: show progress bars on stderr.
        **overrides: PDE parameters or solver settings by name (``n=1024``, ``dt=1e-5``, ``re=1000``).
    Returns:
        path of the written (or kept) file. A file whose own error estimate is above `DEMO_THRESHOLD`
        carries the root attributes ``demo = 1`` and ``demo_reason`` (else ``demo = 0``).
    Raises:
        ValueError: unknown benchmark or setting, invalid, non-finite or out-of-range value.
        MemoryError: the estimated memory exceeds this machine's (refsolvers.memory), before any work.
        FileExistsError: the file exists and neither `force` nor `exist_ok` is set (nor `skip_same`
            with the same settings).
        PermissionError: the folder cannot be written.
        refsolvers.BlowUpError: the solution became non-finite (nothing is written).
    """
    bench = get(name)
    params, solver, output = bench.settings(quick, **overrides)
    check_memory(bench, params, solver, output)
    threads_from_env()  # a bad REFSOLVERS_THREADS is refused before any work
    with removing_created_folders(out_dir):
        out = check_output_dir(out_dir)
        path = out / f"{name}.h5"
        if path.exists() and not force:
            if exist_ok:
                return path
            difference = settings_difference(path, name, quick, params, solver, output) if skip_same else None
            if skip_same and difference is None:
                return path
            raise FileExistsError(f"{path} exists" + (f" with other settings ({difference})" if difference else "")
                                  + " (use --force to overwrite)")
        remove_stale_temporaries(path)  # left by a run killed while writing
        coords = bench.coords(output)
        start = time.perf_counter()
        fields, info = bench.solve(params, solver, coords, progress)
        info = {**info, "settings": solver, "quick": quick, "wall_time_s": round(time.perf_counter() - start, 3)}
        if bench.convergence and solver == bench.solver and params == bench.params:
            info["convergence_study"] = bench.convergence  # offline (2N, dt/2) study of these very settings
        reason = demo_reason(info, quick)
        extra = {"metric_fields": ",".join(bench.metric_fields or bench.fields), "periodic": ",".join(bench.periodic),
                 "demo": int(reason is not None)}
        if reason:
            extra["demo_reason"] = reason
        return write_h5(path, name, coords, fields, params, info, bench.equation, extra_attrs=extra)
