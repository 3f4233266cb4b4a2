"""The HDF5 dataset contract (schema ``refsolvers/1``, docs/design.md section 2): one writer, one reader."""

from __future__ import annotations

import contextlib
import datetime
import glob
import hashlib
import json
import os
import pathlib
import secrets
import socket
import subprocess
import time

import h5py
import numpy as np

SCHEMA = "refsolvers/1"
COORDS = ("t", "y", "x")
UNITS = "1"  # CF units of every variable and coordinate: all benchmarks are non-dimensional


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


_LEGACY_TMP_AGE_S = 3600.0  # temporaries without a PID in their name (older versions) count as stale after this


def _temporary_name(path: pathlib.Path) -> str:
    """``NAME.h5.HOST.PID.RANDOM.tmp``: host and PID say whether the writer can still be alive."""
    host = socket.gethostname().replace(".", "-").replace(os.sep, "-") or "host"
    return f"{path.name}.{host}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    except OSError:
        return True
    return True


def remove_stale_temporaries(path) -> list:
    """Remove temporary files of `path` left by writers that died (kill -9, power loss) before the rename.

    A temporary ``NAME.h5.HOST.PID.RANDOM.tmp`` is removed when HOST is this machine and no process PID
    exists; one of another host is left alone (a shared file system: we cannot tell). An older-style
    ``NAME.h5.XXXXXXXX.tmp`` (no PID) is removed once it is more than an hour old. Returns the removed paths.
    """
    path = pathlib.Path(path)
    host = socket.gethostname().replace(".", "-").replace(os.sep, "-") or "host"
    removed = []
    try:
        candidates = list(path.parent.glob(glob.escape(path.name) + ".*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        parts = tmp.name[len(path.name) + 1:-len(".tmp")].split(".")
        try:
            if len(parts) >= 3 and parts[-2].isdigit():
                stale = ".".join(parts[:-2]) == host and not _pid_alive(int(parts[-2]))
            elif len(parts) == 1:  # tempfile.mkstemp's 8 random characters
                stale = time.time() - tmp.stat().st_mtime > _LEGACY_TMP_AGE_S
            else:
                stale = False
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # vanished meanwhile, or not ours to remove
            pass
    return removed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; when the block succeeds it replaces `path`, else it is removed.

    Readers never see a half-written file, and a crash leaves the previous file intact. The temporary is
    named ``NAME.h5.HOST.PID.RANDOM.tmp`` so that a later write can tell one left by a killed process
    (`remove_stale_temporaries`, called first) from one that a live process is writing. The new file gets
    the usual permissions (0666 less the umask), not a private 0600.
    """
    path = pathlib.Path(path)
    remove_stale_temporaries(path)
    tmp = str(path.parent / _temporary_name(path))
    umask = os.umask(0)
    os.umask(umask)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~umask))
    try:
        yield tmp
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
    Every coordinate and field gets the CF attributes ``units`` ("1": non-dimensional) and ``long_name``
    (`refsolvers.catalog.long_name`).

    Returns:
        the path written.
    Raises:
        ValueError: a field or coordinate holds NaN or infinity (nothing is written), or shapes disagree.
    """
    path = pathlib.Path(path)
    dims = [name for name in COORDS if name in coords]
    for name, data in {**coords, **fields}.items():
        bad = np.size(data) - np.count_nonzero(np.isfinite(data))
        if bad:
            raise ValueError(f"{benchmark}: {name} has {bad} non-finite values of {np.size(data)}: nothing written")
    from .catalog import long_name

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
            ds.attrs["units"], ds.attrs["long_name"] = UNITS, long_name(benchmark, name)
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
            ds.attrs["units"], ds.attrs["long_name"] = UNITS, long_name(benchmark, name)
            for axis, dim in enumerate(dims):
                ds.dims[axis].attach_scale(scales[dim])
    return path


class Dataset(dict):
    """A loaded dataset: mapping of field name -> array, with `coords`, `attrs`, `params`, `solver`.

    `dims` maps each field to its axis names (the ``dims`` attribute, e.g. ``"t,x"``) and `scales` to the
    names of the dimension scales attached to its axes, in order.
    """

    benchmark: str
    coords: dict
    attrs: dict
    params: dict
    solver: dict
    dims: dict
    scales: dict


REQUIRED_ATTRS = ("benchmark", "params", "solver")


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
        missing = [key for key in REQUIRED_ATTRS if key not in out.attrs]
        if missing:
            raise ValueError(f"{path} is a damaged refsolvers dataset: root attribute(s) {', '.join(missing)} missing")
        out.benchmark = out.attrs["benchmark"]
        try:
            out.params = json.loads(out.attrs["params"])
            out.solver = json.loads(out.attrs["solver"])
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is a damaged refsolvers dataset: params/solver are not JSON ({exc})") from None
        out.coords = {name: f[name][()] for name in COORDS if name in f}
        out.dims, out.scales = {}, {}
        for name, ds in f.items():
            if name not in out.coords and isinstance(ds, h5py.Dataset):
                out[name] = ds[()]
                dims = ds.attrs.get("dims")
                dims = dims.decode() if isinstance(dims, bytes) else dims
                out.dims[name] = str(dims) if dims is not None else None
                out.scales[name] = [ds.dims[a][0].name.lstrip("/") if len(ds.dims[a]) else None
                                    for a in range(ds.ndim)]
    return out
