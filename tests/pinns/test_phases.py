"""Optimizer phases, kept batches (RAD), RBA weights and hard constraints in the one trainer."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinns import train
from pinns.config import make_config
from pinns.problems import get_problem
from pinns.run import Run

pytestmark = pytest.mark.usefixtures("x64")

TINY = dict(net={"width": 8, "depth": 1}, batch=64, resample_every=50, log_every=25, ckpt_every=25)


def records(run_dir):
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x]


@pytest.mark.slow  # 600 steps of a 2 x 10 network, 300 of them SSBroyden with line searches: ~20 s
def test_quasi_newton_phase_takes_the_loss_far_below_the_adam_phase(tmp_path):
    train("reaction_diffusion", tmp_path, preset="accurate", optimizer="adam:300,ssbroyden:300",
          net={"width": 10, "depth": 2}, batch=256, resample_every=150, log_every=150, ckpt_every=150,
          progress=False)
    recs = records(tmp_path)
    adam_end = [r for r in recs if r["phase"] == "adam"][-1]
    qn_end = recs[-1]
    assert qn_end["phase"] == "ssbroyden" and qn_end["step"] == 600
    assert qn_end["qn_updates"] > 100 and qn_end["qn_resets"] == 0 and qn_end["linesearch_evals"] >= 150
    # 300 SSBroyden iterations on kept points reach a loss 10x below Adam's (measured ~1e3x)
    assert qn_end["loss"] < 0.1 * adam_end["loss"]
    assert qn_end["rel_l2"]["u"] < adam_end["rel_l2"]["u"]
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["steps"] == 600 and cfg["hard_constraints"] and cfg["dtype"] == "float64"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """(problem, config, final state, run folder) of the 200-step Adam -> SSBroyden run with RBA, trained once."""
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:100,ssbroyden:100", balance="rba", **TINY)
    folder = tmp_path_factory.mktemp("whole")
    whole = Run(folder, problem, cfg)
    return problem, cfg, whole.train(whole.fresh_state(), progress=False), folder


@pytest.mark.parametrize("stop", [75, 125])  # inside the Adam phase (mid-batch), inside the quasi-Newton phase
def test_resume_is_bit_exact_across_the_phase_boundary(tmp_path, stop, uninterrupted):
    problem, cfg, final, whole_dir = uninterrupted
    part = Run(tmp_path / "b", problem, cfg)
    (tmp_path / "b").mkdir()
    part.train(part.fresh_state(), progress=False, until=stop)
    again = Run(tmp_path / "b", problem, cfg)  # a new process: everything from the checkpoint
    state = again.restore()
    assert state.step == stop
    resumed = again.train(state, progress=False)
    for a, b in zip(jax.tree_util.tree_leaves(final.carry), jax.tree_util.tree_leaves(resumed.carry)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [r["loss"] for r in records(whole_dir)] == [r["loss"] for r in records(tmp_path / "b")]


def test_rba_weights_grow_where_the_residual_is_large_and_reset_at_a_resample(tmp_path):
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:50", balance="rba", **TINY)
    run = Run(tmp_path, problem, cfg)
    tmp_path.mkdir(exist_ok=True)
    state = run.train(run.fresh_state(), progress=False)
    w = np.asarray(state.carry["rba"])
    assert w.shape == (64,) and np.all(w > 0) and w.std() > 1e-3  # no longer all ones
    tr = run.trainer
    r = jax.vmap(lambda z: tr.residual(tr.model(state.carry["theta"]), z))(state.carry["batch"]["res"])
    r = np.linalg.norm(np.asarray(r), axis=1)
    assert np.corrcoef(w, r)[0, 1] > 0  # large residual, large weight
    fresh = run._resample(state.carry, 50, 0, None)
    np.testing.assert_array_equal(np.asarray(fresh["rba"]), np.ones(64))
    assert not np.array_equal(np.asarray(fresh["batch"]["res"]), np.asarray(state.carry["batch"]["res"]))


def test_rad_redraw_is_deterministic_and_favours_large_residuals():
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:50", **{**TINY, "batch": 2000})
    run = Run("/nonexistent", problem, cfg)
    tr, carry = run.trainer, run.fresh_state().carry
    key = jax.random.PRNGKey(3)
    draw = jax.jit(tr.draw_points)  # as the trainer calls it (inside the jitted resample): one compilation
    a = draw(carry["theta"], 2, key, 0.0, 1.0, jnp.zeros(0))["res"]
    b = draw(carry["theta"], 2, key, 0.0, 1.0, jnp.zeros(0))["res"]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    u = tr.model(carry["theta"])
    res = jax.jit(lambda pts: jnp.linalg.norm(jax.vmap(lambda z: tr.residual(u, z))(pts), axis=1))
    uniform = draw(carry["theta"], 0, key, 0.0, 1.0, jnp.zeros(0))["res"]
    assert res(a).mean() > 1.2 * res(uniform).mean()


def test_hard_constraints_leave_only_the_residual_term():
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:50", **TINY)
    run = Run("/nonexistent", problem, cfg)
    tr = run.trainer
    assert tr.terms == ("res",)
    u = tr.model(run.fresh_state().carry["theta"])
    walls = jnp.asarray([[0.3, -np.pi], [0.7, np.pi]])
    t0 = jnp.asarray([[0.0, 0.4], [0.0, -1.1]])
    np.testing.assert_allclose(np.asarray(jax.vmap(u)(walls)), 0.0, atol=1e-14)
    exact = np.asarray([problem.initial_fn(z[1:]) for z in t0])
    np.testing.assert_allclose(np.asarray(jax.vmap(u)(t0)), exact, atol=1e-14)


@pytest.mark.parametrize("overrides, message", [
    (dict(optimizer="adam:50,ssbroyden:50", balance="gradnorm"), "fixed loss"),
    (dict(optimizer="adam:50,ssbroyden:50", resample_every=0, sampling="uniform"), "kept between steps"),
    (dict(optimizer="adam:50,ssbroyden:50", steps=70), "differ from the sum"),
    (dict(optimizer="adam:50,newton:5"), "unknown optimizer"),
    (dict(optimizer="adam:fifty"), "name:steps"),
    (dict(sampling="rad", resample_every=0, optimizer="adam:50"), "resample_every > 0"),
])
def test_impossible_phase_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(get_problem("reaction_diffusion"), "accurate", **overrides)

