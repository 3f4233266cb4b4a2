"""Checkpoints compare structures by leaf paths; files with only the old treedef string still load."""

import json

import numpy as np
import pytest

from pinns import checkpoint as ckpt


def test_structures_are_compared_by_leaf_paths(tmp_path):
    tree = {"theta": {"w": np.ones((2, 3), np.float32), "b": np.zeros(3, np.float32)}, "step": np.int32(4)}
    path = ckpt.save(tmp_path / "c.npz", tree, step=4)
    assert ckpt.read_meta(path)["paths"] == ["['step']", "['theta']['b']", "['theta']['w']"]
    loaded, meta = ckpt.load(path, tree)
    assert meta["step"] == 4 and np.array_equal(loaded["theta"]["w"], tree["theta"]["w"])
    renamed = {"theta": {"w": tree["theta"]["w"], "c": tree["theta"]["b"]}, "step": tree["step"]}
    with pytest.raises(ckpt.CheckpointError, match="does not match this run's structure"):
        ckpt.load(path, renamed)


def test_a_checkpoint_with_only_the_treedef_string_still_loads(tmp_path):
    import jax

    tree = {"a": np.arange(3.0), "b": [np.ones(2)]}
    path = tmp_path / "old.npz"
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    header = {"format": ckpt.FORMAT, "treedef": str(treedef), "n_leaves": len(leaves),
              "shapes": [list(x.shape) for x in leaves], "dtypes": [str(x.dtype) for x in leaves], "step": 1}
    np.savez(path, **{f"leaf_{i:05d}": x for i, x in enumerate(leaves)},
             __meta__=np.frombuffer(json.dumps(header).encode(), np.uint8))
    loaded, meta = ckpt.load(path, tree)
    assert meta["step"] == 1 and np.array_equal(loaded["b"][0], tree["b"][0])
