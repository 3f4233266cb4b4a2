"""Issue 14: block-wise per-term gradients, the resampling, init and Adam-eps options of the AutoBalance study."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns import checkpoint as ckpt
from pinns.config import make_config
from pinns.optim import auto_adamw, block_term_grads
from pinns.problems import get_problem
from pinns.run import Run
from pinns.trainer import Trainer

SMALL = {"batch": 64, "n_bc": 16, "log_every": 5, "ckpt_every": 5, "eval_points": 200, "log_alignment": False}


def trainer(name="reaction_diffusion", **over):
    problem = get_problem(name)
    return Trainer(problem, make_config(problem, "quick", **{**SMALL, **over}))


@pytest.mark.parametrize("name", ["reaction_diffusion", "poisson_inverse"])
def test_block_losses_concatenate_to_term_losses_bit_for_bit(name):
    tr = trainer(name)
    theta = tr.init_params(jax.random.PRNGKey(0))
    ta, tb = tr.window_bounds[0]
    batch = tr._batch(jnp.int32(0), jax.random.PRNGKey(1), ta, tb, jnp.zeros(0))
    whole = jax.jit(lambda th: tr.term_losses(th, batch, ta)[0])(theta)
    blocks = jax.jit(lambda th: jnp.concatenate([f(th)[0] for f in tr.block_losses(batch, ta)]))(theta)
    np.testing.assert_array_equal(np.asarray(whole), np.asarray(blocks))


@pytest.mark.parametrize("name,balance", [("reaction_diffusion", "autobalance"), ("poisson_inverse", "autobalance"),
                                          ("reaction_diffusion", "pcgrad"), ("helmholtz", "mgda")])
def test_blockwise_gradients_equal_the_jacobian_rows(name, balance):
    """Every per-term optimizer (AutoBalance and the baselines) gets block-wise gradients, equal to the rows of
    one jax.jacrev of the loss vector up to the summation order."""
    tr = trainer(name, balance=balance, optimizer="adamw")
    theta = tr.init_params(jax.random.PRNGKey(0))
    ta, tb = tr.window_bounds[0]
    batch = tr._batch(jnp.int32(0), jax.random.PRNGKey(1), ta, tb, jnp.zeros(0))
    grads, losses, _ = jax.jit(lambda th: tr.per_term_grads(th, batch, ta))(theta)
    jac, losses_j, _ = jax.jit(lambda th: tr.term_grads(th, batch, ta))(theta)
    assert len(grads) == tr.n_terms
    np.testing.assert_allclose(np.asarray(losses), np.asarray(losses_j), rtol=1e-6)
    for i, g in enumerate(grads):
        for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(jac)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[i]), rtol=2e-4, atol=1e-6 * float(jnp.max(jnp.abs(b[i]))))


def test_block_term_grads_splits_a_multi_term_block():
    p = {"w": jnp.arange(3.0)}
    one = lambda q: (jnp.sum(q["w"] ** 2)[None], {})  # noqa: E731
    two = lambda q: (jnp.stack([q["w"][0] ** 3, jnp.sum(q["w"])]), {"k": 1})  # noqa: E731
    grads, values, aux = block_term_grads([one, two], p)
    np.testing.assert_allclose(values, [5.0, 0.0, 3.0])
    np.testing.assert_allclose(grads[0]["w"], [0.0, 2.0, 4.0])
    np.testing.assert_allclose(grads[1]["w"], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(grads[2]["w"], [1.0, 1.0, 1.0])
    assert aux == [{}, {"k": 1}]


def _points(tr, step, seed=0):
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)
    return np.asarray(tr._batch(jnp.int32(step), key, 0.0, 1.0, jnp.zeros(0))["res"])


def test_resample_every_redraws_in_blocks_deterministically_per_seed():
    tr = trainer(fixed_points=False, resample_every=10)
    same = trainer(fixed_points=False, resample_every=10)
    np.testing.assert_array_equal(_points(tr, 0), _points(tr, 9))
    np.testing.assert_array_equal(_points(tr, 10), _points(tr, 19))
    np.testing.assert_array_equal(_points(tr, 13), _points(same, 13))  # same seed, another trainer
    assert not np.array_equal(_points(tr, 9), _points(tr, 10))
    assert not np.array_equal(_points(tr, 5, seed=0), _points(tr, 5, seed=1))
    every = trainer(fixed_points=False)  # resample_every 0: a new draw every step, as before
    assert not np.array_equal(_points(every, 0), _points(every, 1))
    fixed = trainer()  # the preset: fixed points, resample_every ignored
    np.testing.assert_array_equal(_points(fixed, 0), _points(fixed, 25))


def test_resampled_run_resumes_bit_for_bit(tmp_path):
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "quick", **{**SMALL, "steps": 20, "fixed_points": False, "resample_every": 3})
    for sub in ("full", "part"):
        (tmp_path / sub).mkdir()
    full = Run(tmp_path / "full", problem, cfg)
    s_full = full.train(full.fresh_state(), progress=False)
    part = Run(tmp_path / "part", problem, cfg, trainer=full.trainer)  # a second fresh run: its compiled steps
    part.train(part.fresh_state(), progress=False, until=10)
    resumed = Run(tmp_path / "part", problem, cfg)  # a new process: a new trainer, everything from the checkpoint
    resumed.train(resumed.restore(), progress=False)
    a, _ = ckpt.load(tmp_path / "full" / "checkpoint.npz", s_full.tree())
    b, _ = ckpt.load(tmp_path / "part" / "checkpoint.npz", s_full.tree())
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_torch_init_is_pytorch_linear_default():
    tr = trainer(net={"init": "torch", "width": 200})
    theta = tr.init_params(jax.random.PRNGKey(0))
    for layer in [*theta["hidden"], theta["out"]]:
        bound = 1 / np.sqrt(layer["w"].shape[0])
        for a in (np.asarray(layer["w"]), np.asarray(layer["b"])):
            assert np.all(np.abs(a) <= bound) and np.any(a != 0)
    w = np.asarray(theta["hidden"][1]["w"])  # 200 x 200: bound 1/sqrt(200)
    assert abs(w.std() - 1 / np.sqrt(600)) < 0.02 / np.sqrt(600)  # uniform's std bound/sqrt(3), not a normal's
    with pytest.raises(ValueError, match="init"):
        trainer(net={"init": "he"})


def test_eps_inside_the_root_reaches_adam():
    cfg = make_config(get_problem("reaction_diffusion"), "quick", eps=0.0, eps_root=1e-8)
    tr = Trainer(get_problem("reaction_diffusion"), cfg)
    p = {"w": jnp.array([1.0, 2.0])}
    g = {"w": jnp.array([1e-5, -3e-4])}
    lr = float(tr.schedule(0))
    upd, _ = tr.optimizer.update([g, g], tr.optimizer.init(p), p)
    # first step: m_hat = g, v_hat = g^2; Algorithm 1's d = g / sqrt(g^2 + eps), two terms, decay once
    d = g["w"] / jnp.sqrt(g["w"] ** 2 + 1e-8)
    np.testing.assert_allclose(upd["w"], -lr * 2 * d - lr * cfg.weight_decay * p["w"], rtol=1e-5)
    ref, _ = auto_adamw(lr, 1, eps=0.0, eps_root=1e-8, weight_decay=0.0).update([g], auto_adamw(
        lr, 1, eps=0.0, eps_root=1e-8, weight_decay=0.0).init(p), p)
    np.testing.assert_allclose(ref["w"], -lr * d, rtol=1e-5)
    assert isinstance(optax.adam(1.0, eps_root=1e-8), optax.GradientTransformation)


def test_a_run_folder_written_before_the_new_settings_still_resumes(tmp_path):
    import json

    from pinns import train

    kw = dict(preset="quick", optimizer="adamw", balance="autobalance", progress=False, **{**SMALL, "steps": 5})
    train("reaction_diffusion", tmp_path, **kw)
    cfg_file = tmp_path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    for key in ("eps", "eps_root", "resample_every"):
        del cfg[key]
    del cfg["net"]["init"]
    cfg_file.write_text(json.dumps(cfg))
    result = train("reaction_diffusion", tmp_path, resume="auto", **{**kw, "steps": 10})
    assert result["step"] == 10
