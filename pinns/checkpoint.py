"""Checkpoints: one atomic, versioned ``.npz`` holding a pytree's leaves and a JSON header.

Why not orbax-checkpoint: it would add a dozen packages (tensorstore, protobuf, uvloop, ...) for
what is here a few MB of arrays written every few thousand steps, and its asynchronous saves add
nothing on one host. An ``.npz`` is a zip with a CRC per array, so truncation and bit rot are
detected on load; arrays round-trip bit for bit, which `--resume` relies on.

Format ``pinns-ckpt/1``: member ``__meta__`` (UTF-8 JSON: format, the leaf paths
(`jax.tree_util.keystr` of each leaf's key path), number of leaves, shapes, dtypes, plus caller
metadata such as step and window) and members ``leaf_00000``, ... in `jax.tree_util` flattening
order. Structures are compared by leaf paths, which name every array and do not depend on how a
JAX version prints a treedef; files written before the paths were stored (``treedef`` string
only) are still compared by that string. Loading needs a template pytree of the same structure (the
trainer builds it from the run's config), so no code is unpickled: ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile

import jax
import numpy as np

from refsolvers._io import atomic_path

FORMAT = "pinns-ckpt/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, of another format or of another structure."""


def save(path, tree, **meta) -> pathlib.Path:
    """Write `tree` (a pytree of arrays) and JSON-able `meta` to `path` atomically."""
    path = pathlib.Path(path)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    arrays = {f"leaf_{i:05d}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    header = {"format": FORMAT, "paths": leaf_paths(tree), "n_leaves": len(leaves),
              "shapes": [list(a.shape) for a in arrays.values()], "dtypes": [str(a.dtype) for a in arrays.values()],
              **meta}
    arrays["__meta__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    return path


def leaf_paths(tree) -> list:
    """`jax.tree_util.keystr` of the key path of each leaf of `tree`, in flattening order."""
    return [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def read_meta(path) -> dict:
    """The JSON header of checkpoint `path` (CheckpointError if unreadable)."""
    return _open(path)[1]


def _open(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        npz = np.load(path, allow_pickle=False)
        meta = json.loads(bytes(npz["__meta__"]).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"corrupt checkpoint {path}: {type(exc).__name__}: {exc}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint (format {meta.get('format')!r})")
    return npz, meta


def load(path, template):
    """Read checkpoint `path` into the structure of `template`; returns (tree, meta).

    Raises:
        CheckpointError: missing or corrupt file (CRC, truncation), other format, or a structure,
            shape or dtype that differs from `template`.
    """
    npz, meta = _open(path)
    leaves, treedef = jax.tree_util.tree_flatten(template)
    if "paths" in meta:
        same = meta["paths"] == leaf_paths(template)
    else:  # written before leaf paths were stored
        same = meta.get("treedef") == str(treedef)
    if meta["n_leaves"] != len(leaves) or not same:
        raise CheckpointError(f"checkpoint {path} does not match this run's structure "
                              f"({meta['n_leaves']} arrays saved, {len(leaves)} expected)")
    out = []
    try:
        for i, like in enumerate(leaves):
            arr = npz[f"leaf_{i:05d}"]
            like = np.asarray(like)
            if arr.shape != like.shape or arr.dtype != like.dtype:
                raise CheckpointError(f"checkpoint {path}: array {i} is {arr.dtype}{list(arr.shape)}, "
                                      f"expected {like.dtype}{list(like.shape)}")
            out.append(arr)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"corrupt checkpoint {path}: {type(exc).__name__}: {exc}") from None
    return jax.tree_util.tree_unflatten(treedef, out), meta


__all__ = ["CheckpointError", "FORMAT", "leaf_paths", "load", "read_meta", "save"]
