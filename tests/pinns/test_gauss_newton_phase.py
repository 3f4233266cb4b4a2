"""Gauss-Newton phases in the one trainer: the residual vector, its Jacobian, the phase, resume, stop rules."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pinns import train
from pinns.config import make_config
from pinns.problems import get_problem
from pinns.residuals import residual_jacobian, residual_vector
from pinns.run import Run
from test_train import write_burgers

pytestmark = pytest.mark.usefixtures("x64")

TINY = dict(net={"width": 8, "depth": 1}, batch=64, resample_every=20, log_every=10, ckpt_every=10)


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x]


def soft_trainer(balance="none"):
    """reaction_diffusion without hard constraints: residual, initial and boundary blocks with unequal weights."""
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:20,lm:20", hard_constraints=False, balance=balance,
                      **{**TINY, "batch": 32})
    run = Run("/nonexistent", problem, cfg)
    return run, run.fresh_state().carry


@pytest.mark.parametrize("balance", ["none", "rba"])
def test_squared_residual_vector_is_the_weighted_loss_and_its_jacobian_is_exact(balance):
    run, carry = soft_trainer(balance)
    tr = run.trainer
    assert len(tr.loss_blocks(carry["batch"])) >= 2  # several blocks, so the row scalings matter
    weights = jnp.linspace(0.5, 3.0, tr.n_terms)
    rba = None if balance == "none" else jnp.linspace(0.2, 2.0, tr.cfg.batch)
    theta, batch = carry["theta"], carry["batch"]
    r = residual_vector(tr, theta, batch, 0.0, weights, rba)
    loss, _ = tr.weighted_loss(theta, batch, 0.0, weights, rba)
    np.testing.assert_allclose(float(r @ r), float(loss), rtol=1e-13)
    r2, J, raw = residual_jacobian(tr, theta, batch, 0.0, weights, rba)
    np.testing.assert_array_equal(np.asarray(r), np.asarray(r2))
    flat, unravel = ravel_pytree(theta)
    fwd = jax.jacfwd(lambda x: residual_vector(tr, unravel(x), batch, 0.0, weights, rba))(flat)
    np.testing.assert_allclose(np.asarray(J), np.asarray(fwd), rtol=1e-10, atol=1e-12)
    assert raw.shape == (tr.cfg.batch, 1)


def test_a_few_dozen_lm_iterations_take_the_loss_far_below_where_adam_left_it(tmp_path):
    (tmp_path / "data").mkdir()
    data = write_burgers(tmp_path / "data")
    train("burgers", tmp_path / "run", data=str(data), preset="accurate", optimizer="adam:300,lm:30",
          net={"width": 10, "depth": 2}, batch=256, resample_every=30, log_every=30, ckpt_every=30, progress=False)
    recs = lines(tmp_path / "run" / "metrics.jsonl")
    adam_end, lm_end = [r for r in recs if r["phase"] == "adam"][-1], recs[-1]
    assert lm_end["phase"] == "lm" and lm_end["step"] == 330
    # 30 Levenberg-Marquardt iterations on the kept points: measured 0.73 -> 0.018 (41x; 30 SSBroyden iterations
    # from the same point: 0.38); asked: 10x
    assert lm_end["loss"] < 0.1 * adam_end["loss"]
    its = lines(tmp_path / "run" / "iterations.jsonl")
    assert [i["step"] for i in its] == list(range(301, 331))
    assert all(i["damping"] > 0 and i["trials"] >= 1 for i in its) and sum(i["accepted"] for i in its) >= 20
    assert json.loads((tmp_path / "run" / "stop.json").read_text())["reason"] == "finished"


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """One uninterrupted run (Adam 40, LM 30, RBA) that the resume and redraw checks share."""
    problem = get_problem("reaction_diffusion")
    cfg = make_config(problem, "accurate", optimizer="adam:40,lm:30", balance="rba", **TINY)
    folder = tmp_path_factory.mktemp("whole")
    run = Run(folder, problem, cfg)
    return run, run.train(run.fresh_state(), progress=False)


@pytest.mark.parametrize("stop", [30, 50])  # inside the Adam phase, inside the Levenberg-Marquardt phase
def test_resume_is_bit_exact_across_the_adam_to_lm_boundary(tmp_path, stop, whole_run):
    whole, final = whole_run
    part = Run(tmp_path, whole.problem, whole.cfg, trainer=whole.trainer)
    part.train(part.fresh_state(), progress=False, until=stop)
    again = Run(tmp_path, whole.problem, whole.cfg)  # a new trainer: everything from the checkpoint
    state = again.restore()
    again.truncate_metrics(state.step)
    resumed = again.train(state, progress=False)
    for a, b in zip(jax.tree_util.tree_leaves(final.carry), jax.tree_util.tree_leaves(resumed.carry)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    strip = lambda recs: [{k: v for k, v in r.items() if k != "wall_s"} for r in recs]  # noqa: E731
    assert strip(lines(whole.dir / "iterations.jsonl")) == strip(lines(tmp_path / "iterations.jsonl"))


def test_a_redraw_keeps_lambda_after_accepted_steps(whole_run):
    run, state = whole_run
    opt = state.carry["opt"]
    after = run._resample(state.carry, 60, 0, None, phase=1)["opt"]
    assert bool(opt.accepted) and float(after.damping) == float(opt.damping) and float(after.nu) == 2.0


def test_until_loss_stops_the_run_and_says_why(tmp_path):
    train("reaction_diffusion", tmp_path, preset="accurate", optimizer="adam:20,lm:200", until_loss=1e3,
          progress=False, **TINY)
    stop = json.loads((tmp_path / "stop.json").read_text())
    assert stop["reason"].startswith("until_loss") and stop["step"] < 220


@pytest.mark.parametrize("overrides, message", [
    (dict(optimizer="adam:50,lm:50", balance="gradnorm"), "fixed loss"),
    (dict(optimizer="adam:50,lm:50", resample_every=0, sampling="uniform"), "kept between steps"),
    (dict(optimizer="adam:50,lm:50", lm_scaling="marquardt"), "lm_scaling"),
    (dict(optimizer="adam:50,lm:50", until_loss=-1.0), "until_loss"),
])
def test_impossible_gauss_newton_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(get_problem("reaction_diffusion"), "accurate", **overrides)


def test_command_line_settings_reach_the_configuration(tmp_path, capsys):
    from pinns.cli import main

    assert main(["train", "reaction_diffusion", "--out", str(tmp_path / "r"), "--preset", "accurate",
                 "--optimizer", "adam:10,lm:5", "--until-loss", "1e-9", "--lm-geodesic", "0.5", "--lm-rule", "nielsen",
                 "--lm-scaling", "diag", "--lm-damping", "1e-4", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["optimizer"], cfg["steps"], cfg["until_loss"], cfg["lm_geodesic"], cfg["lm_rule"], cfg["lm_scaling"],
            cfg["lm_damping"]) == ("adam:10,lm:5", 15, 1e-9, 0.5, "nielsen", "diag", 1e-4)
    assert not (tmp_path / "r").exists()


def test_matrix_free_phase_runs_in_the_trainer_and_counts_cg_iterations(tmp_path):
    train("reaction_diffusion", tmp_path, preset="accurate", optimizer="adam:20,lm_cg:5", balance="rba",
          progress=False, **TINY)
    its = lines(tmp_path / "iterations.jsonl")
    assert len(its) == 5 and all(i["cg_iters"] > 0 for i in its) and sum(i["accepted"] for i in its) >= 3
    assert its[-1]["loss"] < its[0]["loss"]
