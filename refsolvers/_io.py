"""The HDF5 dataset contract (schema ``refsolvers/1``, DESIGN.md section 2): one writer, one reader."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import pathlib
import subprocess
import tempfile

import h5py
import numpy as np

SCHEMA = "refsolvers/1"
COORDS = ("t", "y", "x")


def _package_version() -> str:
    from . import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=pathlib.Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, complex):
        return {"re": obj.real, "im": obj.imag}
    return obj


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; when the block succeeds it replaces `path`, else it is removed.

    Readers never see a half-written file, and a crash leaves the previous file intact. The new file
    gets the usual permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_h5(path, benchmark: str, coords: dict, fields: dict, params: dict, solver: dict,
             equation: str, extra_attrs: dict | None = None) -> pathlib.Path:
    """Write one benchmark dataset atomically (temporary file in the same folder, then rename).

    Args:
        path: final file name, ``DIR/NAME.h5``.
        benchmark: registry name.
        coords: 1-D float arrays by name among t, y, x.
        fields: arrays by field name; axes in the order (t, y, x) restricted to the coords present.
        params: PDE parameters (stored as JSON).
        solver: method, resolution, dt, error estimate... (stored as JSON).
        equation: the PDE in plain text.
    Returns:
        the path written.
    """
    path = pathlib.Path(path)
    dims = [name for name in COORDS if name in coords]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema"] = SCHEMA
        f.attrs["benchmark"] = benchmark
        f.attrs["params"] = json.dumps(_jsonable(params))
        f.attrs["solver"] = json.dumps(_jsonable(solver))
        f.attrs["equation"] = equation
        f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        f.attrs["version"] = _package_version()
        for key, value in (extra_attrs or {}).items():
            f.attrs[key] = value if isinstance(value, (str, int, float)) else json.dumps(_jsonable(value))
        digest = hashlib.sha256()
        for name in sorted(fields):
            digest.update(name.encode() + np.ascontiguousarray(fields[name], dtype=np.float64).tobytes())
        f.attrs["fields_sha256"] = digest.hexdigest()  # content hash, independent of `created`
        scales = {}
        for name in dims:
            ds = f.create_dataset(name, data=np.asarray(coords[name], dtype=np.float64))
            ds.make_scale(name)
            scales[name] = ds
        for name, data in fields.items():
            data = np.asarray(data, dtype=np.float64)
            if data.ndim != len(dims):
                raise ValueError(f"field {name!r} has {data.ndim} axes, expected {dims}")
            for axis, dim in enumerate(dims):
                if data.shape[axis] != scales[dim].shape[0]:
                    raise ValueError(f"field {name!r} axis {dim} has length {data.shape[axis]}, "
                                     f"coordinate has {scales[dim].shape[0]}")
            ds = f.create_dataset(name, data=data, compression="gzip", compression_opts=4, shuffle=True)
            ds.attrs["dims"] = ",".join(dims)
            for axis, dim in enumerate(dims):
                ds.dims[axis].attach_scale(scales[dim])
    return path


class Dataset(dict):
    """A loaded dataset: mapping of field name -> array, with `coords`, `attrs`, `params`, `solver`."""

    benchmark: str
    coords: dict
    attrs: dict
    params: dict
    solver: dict


def read_h5(path) -> Dataset:
    """Read a dataset written by `write_h5`; raises ValueError if the file is not ours."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such dataset: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path} is not an HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("schema") != SCHEMA:
            raise ValueError(f"{path} is not a refsolvers dataset (schema {f.attrs.get('schema')!r})")
        out = Dataset()
        out.attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        out.benchmark = out.attrs["benchmark"]
        out.params = json.loads(out.attrs["params"])
        out.solver = json.loads(out.attrs["solver"])
        out.coords = {name: f[name][()] for name in COORDS if name in f}
        for name, ds in f.items():
            if name not in out.coords:
                out[name] = ds[()]
    return out
