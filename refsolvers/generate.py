"""`generate`: solve a registry benchmark and write ``DIR/NAME.h5`` (the HDF5 contract)."""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

from ._io import remove_stale_temporaries, write_h5
from .benchmarks import get


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


def generate(name: str, out_dir, quick: bool = False, force: bool = False, progress: bool = True,
             exist_ok: bool = False, **overrides) -> pathlib.Path:
    """Solve benchmark `name` and write ``out_dir/name.h5``.

    Args:
        name: registry name (see `refsolvers.BENCHMARKS`).
        out_dir: output folder (created if missing).
        quick: use the entry's small `quick` settings (tests, demos).
        force: overwrite an existing file (otherwise FileExistsError).
        exist_ok: an existing file is kept and its path returned (nothing is solved).
        progress: show progress bars on stderr.
        **overrides: PDE parameters or solver settings by name (``n=1024``, ``dt=1e-5``, ``re=1000``).
    Returns:
        path of the written file.
    Raises:
        ValueError: unknown benchmark or setting, invalid value.
        FileExistsError: the file exists and neither `force` nor `exist_ok` is set.
        PermissionError: the folder cannot be written.
        refsolvers.BlowUpError: the solution became non-finite (nothing is written).
    """
    bench = get(name)
    params, solver, output = bench.settings(quick, **overrides)
    out = check_output_dir(out_dir)
    path = out / f"{name}.h5"
    if path.exists() and not force:
        if exist_ok:
            return path
        raise FileExistsError(f"{path} exists (use --force to overwrite)")
    remove_stale_temporaries(path)  # left by a run killed while writing
    coords = bench.coords(output)
    start = time.perf_counter()
    fields, info = bench.solve(params, solver, coords, progress)
    info = {**info, "settings": solver, "quick": quick, "wall_time_s": round(time.perf_counter() - start, 3)}
    if bench.convergence and solver == bench.solver and params == bench.params:
        info["convergence_study"] = bench.convergence  # offline (2N, dt/2) study of these very settings
    return write_h5(path, name, coords, fields, params, info, bench.equation,
                    extra_attrs={"metric_fields": ",".join(bench.metric_fields or bench.fields),
                                 "periodic": ",".join(bench.periodic)})
