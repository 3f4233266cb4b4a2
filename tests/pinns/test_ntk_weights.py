"""NTK-trace weighting in the trainer (`--balance ntk`) and the MSE logged per step."""

import json

import jax
import jax.numpy as jnp
import numpy as np

from pinns.optim import ntk_trace
from pinns.problems import get_problem
from pinns.config import make_config
from pinns.optim import grad_norm_weights
from pinns.run import Run
from pinns.trainer import Trainer

TINY = dict(net={"width": 8, "depth": 1}, batch=64, n_bc=16, log_every=5, ckpt_every=5, gradnorm_every=5,
            log_alignment=False, eval_points=100, balance="ntk", optimizer="adamw", steps=10)


def _trace(point_fn, theta, points):
    """`pinns.optim.ntk_trace`, compiled (eager per-example Jacobians are slow)."""
    return jax.jit(lambda th, pts: ntk_trace(point_fn, th, pts))(theta, points)


def _traces(tr, theta, batch, **kw):
    return jax.jit(lambda th, b: tr.ntk_traces(th, b, 0.0, **kw))(theta, batch)


def _setup(name):
    problem = get_problem(name)
    tr = Trainer(problem, make_config(problem, "paper", **TINY))
    theta = tr.init_params(jax.random.PRNGKey(0))
    return tr, theta, tr.sample(jax.random.PRNGKey(1), 0.0, 1.0, None)


def test_ntk_traces_are_mean_per_example_gradient_norms_reaction_diffusion():
    tr, theta, batch = _setup("reaction_diffusion")
    u = lambda th: tr.model(th, 0.0)  # noqa: E731
    exact = tr.problem.dirichlet
    want = [_trace(lambda th, z: tr.residual(u(th), z)[0], theta, batch["res"]),
            _trace(lambda th, z: u(th)(z)[0] - exact(z)[0], theta, batch["bc"])]
    np.testing.assert_allclose(_traces(tr, theta, batch), want, rtol=1e-5)
    # a strided subset when a block is larger than max_points
    sub = _traces(tr, theta, batch, max_points=16)
    np.testing.assert_allclose(sub[0], _trace(lambda th, z: tr.residual(u(th), z)[0], theta, batch["res"][::4]),
                               rtol=1e-5)


def test_ntk_traces_cover_the_data_term_poisson_inverse():
    tr, theta, batch = _setup("poisson_inverse")
    pts, vals, idx = tr.data
    u = tr.model
    data = _trace(lambda th, p: u(th)(p[0])[p[2]] - p[1], theta, (pts, vals, idx))
    got = _traces(tr, theta, batch)
    assert got.shape == (2,) and np.all(got > 0)
    np.testing.assert_allclose(got[1], data, rtol=1e-5)


def test_ntk_weights_are_refreshed_and_logged_with_the_mse(tmp_path):
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "paper", **{**TINY, "gradnorm_momentum": 0.0})
    run = Run(tmp_path, problem, cfg)
    tr = run.trainer
    assert tr.gradnorm and not tr.per_term
    state = run.fresh_state()
    key = jax.random.fold_in(run.base_key, 1)
    batch = tr._batch(jnp.int32(0), key, 0.0, 1.0, jnp.zeros(0))
    want = grad_norm_weights(_traces(tr, state.carry["theta"], batch))
    run.train(state, progress=False)
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [5, 10]
    np.testing.assert_allclose(list(lines[0]["weights"].values()), want, rtol=1e-4)
    assert lines[0]["weights"] != lines[1]["weights"]  # refreshed at step 5
    assert set(lines[-1]["mse"]) == {"u"} and np.isfinite(lines[-1]["mse"]["u"])
    rel = lines[-1]["rel_l2"]["u"]
    assert rel > 0 and lines[-1]["mse"]["u"] > 0
