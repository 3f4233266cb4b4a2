"""Training: weighting rules, schedules, sampling, resume bit for bit, time marching, NaN stop, data parallel."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import refsolvers
from pinns import checkpoint as ckpt
from pinns.problems import PROBLEMS, get_problem
from pinns.config import TrainingError, make_config
from pinns.optim import alignment_score, grad_norm_weights
from pinns.recipes import make_schedule
from pinns.run import Run
from pinns.trainer import Trainer, causal_weights

# a tiny Fourier-feature MLP: the trainer's logic does not depend on the architecture, and it compiles fastest
TINY = dict(net={"arch": "mlp", "width": 8, "depth": 1}, batch=64, n_bc=16, log_every=5, ckpt_every=5,
            gradnorm_every=5, warmup_steps=10, decay_steps=10, log_alignment=False, eval_points=100)
MARCH = dict(TINY, balance="none", steps=10, windows=2)


def write_burgers(folder, nt=6, nx=17):
    t, x = np.linspace(0, 1, nt), np.linspace(-1, 1, nx)
    u = -np.sin(np.pi * x)[None, :] * np.exp(-t)[:, None]
    refsolvers.write_h5(folder / "burgers.h5", "burgers", {"t": t, "x": x}, {"u": u}, {"nu": 0.01 / np.pi},
                        {"method": "test"}, "test", extra_attrs={"metric_fields": "u", "periodic": ""})
    return folder


@pytest.fixture(scope="module")
def burgers(tmp_path_factory):
    return get_problem("burgers", write_burgers(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def trainer(burgers):
    """One compiled trainer (2 windows x 10 steps) shared by the run tests."""
    return Trainer(burgers, make_config(burgers, "quick", **MARCH))


@pytest.fixture(scope="module")
def full_run(burgers, trainer, tmp_path_factory):
    run = Run(tmp_path_factory.mktemp("full"), burgers, trainer.cfg, trainer=trainer)
    return run, run.train(run.fresh_state(), progress=False)


# ----------------------------------------------------------------------------- weighting rules


def test_causal_weights_follow_the_formula():
    losses = jnp.array([0.5, 0.2, 1.0, 0.1])
    w = causal_weights(losses, eps=2.0)
    expected = np.exp(-2.0 * np.array([0.0, 0.5, 0.7, 1.7]))  # exp(-eps sum_{k<i} L_k)
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    # no gradient flows through the weights: d/dL sum(w * L) = w
    np.testing.assert_allclose(jax.grad(lambda l: jnp.sum(causal_weights(l, 2.0) * l))(losses), expected, rtol=1e-6)


def test_grad_norm_weights_equalise_the_weighted_gradient_norms():
    norms = jnp.array([3.0, 0.01, 40.0])
    w = grad_norm_weights(norms)
    np.testing.assert_allclose(w * norms, jnp.full(3, jnp.sum(norms)), rtol=1e-6)
    # a vanishing gradient gets weight 1, not an overflow (inf * 0 = nan in the loss)
    np.testing.assert_allclose(grad_norm_weights(jnp.array([2.0, 0.0, 6.0])), [4.0, 1.0, 8.0 / 6.0], rtol=1e-6)


def test_grad_norm_update_with_no_momentum_equalises_the_terms(burgers):
    tr = Trainer(burgers, make_config(burgers, "quick", **{**TINY, "gradnorm_momentum": 0.0}))
    theta = tr.init_params(jax.random.PRNGKey(0))
    batch = tr.sample(jax.random.PRNGKey(1), 0.0, 1.0, tr.initial_values)

    @jax.jit
    def weights_and_norms(theta, batch):
        w = tr.gradnorm_update(theta, batch, 0.0, tr.base_weights)
        jac, _, _ = tr.term_grads(theta, batch, 0.0)
        return w, jnp.sqrt(sum(jnp.sum(g.reshape(3, -1) ** 2, 1) for g in jax.tree_util.tree_leaves(jac)))

    w, norms = weights_and_norms(theta, batch)
    weighted = np.asarray(w * norms)
    np.testing.assert_allclose(weighted, weighted[0], rtol=1e-4)  # float32 norms of ~100 parameters


def test_alignment_score_limits():
    v = jnp.array([[1.0, 2.0], [2.0, 4.0]])
    assert float(alignment_score(v)) == pytest.approx(1.0)
    assert float(alignment_score(jnp.array([[1.0, 0.0], [-3.0, 0.0]]))) == pytest.approx(-1.0)


def test_schedules(burgers):
    cfg = make_config(burgers, "paper")
    lr = make_schedule(cfg)
    assert float(lr(0)) == 0.0 and float(lr(2500)) == pytest.approx(5e-4) and float(lr(5000)) == pytest.approx(1e-3)
    assert float(lr(5000 + 2000)) == pytest.approx(9e-4, rel=1e-5)
    ab = make_schedule(make_config(get_problem("helmholtz"), "paper"))
    assert float(ab(0)) == pytest.approx(1e-4) and float(ab(1500)) == pytest.approx(1e-2)
    assert float(ab(1500 + 1049)) == pytest.approx(1e-2 * 0.75 ** 1.0)  # staircase: updated every 50 steps
    assert float(ab(1500 + 1050)) == pytest.approx(1e-2 * 0.75 ** 1.05, rel=1e-5)
    assert float(ab(10**6)) == pytest.approx(1e-5)  # Helmholtz floor


def test_sampling_geometry(trainer):
    batch = trainer.sample(jax.random.PRNGKey(0), 0.25, 0.75, trainer.initial_values)
    res = np.asarray(batch["res"])
    assert res.shape == (64, 2) and np.all((res[:, 0] >= 0.25) & (res[:, 0] <= 0.75))
    assert np.all(np.abs(res[:, 1]) <= 1)
    chunk = ((res[:, 0] - 0.25) / 0.5 * 16).astype(int)
    np.testing.assert_array_equal(chunk, np.repeat(np.arange(16), 4))  # stratified, chunk-major
    ic_points, ic_values = batch["ic"]
    assert np.all(np.asarray(ic_points)[:, 0] == 0.25) and ic_values.shape == (17, 1)
    bc = np.asarray(batch["bc"])
    assert np.all(np.abs(bc[:, 1]) == 1.0) and set(np.sign(bc[:, 1])) == {-1.0, 1.0}


# ----------------------------------------------------------------------------- runs


def metrics(path):
    lines = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in rec.items() if k not in ("wall_s", "steps_per_s")} for rec in lines]


def test_resume_continues_bit_for_bit(burgers, trainer, full_run, tmp_path):
    full, s_full = full_run
    part = Run(tmp_path, burgers, trainer.cfg, trainer=trainer)
    part.train(part.fresh_state(), progress=False, until=15)  # stop inside the second window
    resumed = Run(tmp_path, burgers, trainer.cfg, trainer=trainer)
    state = resumed.restore()
    assert (state.step, state.window, len(state.done)) == (15, 1, 1)
    resumed.train(state, progress=False)

    a, meta_a = ckpt.load(full.dir / "checkpoint.npz", s_full.tree())
    b, meta_b = ckpt.load(tmp_path / "checkpoint.npz", s_full.tree())
    assert meta_a["step"] == meta_b["step"] == 20
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)  # bitwise: stateless RNG, same compiled chunks
    assert metrics(full.dir) == metrics(tmp_path)


def test_time_marching_starts_each_window_from_the_previous_prediction(full_run):
    run, state = full_run
    assert state.window == 1 and len(state.done) == 1 and state.step == 20
    pts = np.concatenate([np.full((17, 1), 0.5), np.asarray(run.trainer.ic_points)], 1)
    expected = run.trainer.predict(state.done, pts)["u"]
    # same network, evaluated in another batch layout: float32 round-off
    np.testing.assert_allclose(np.asarray(state.ic_values)[:, 0], expected, rtol=1e-5, atol=1e-6)
    assert [rec["window"] for rec in metrics(run.dir)] == [0, 0, 1, 1]
    assert [rec["step"] for rec in metrics(run.dir)] == [5, 10, 15, 20]


def test_non_finite_loss_stops_with_the_step(burgers, trainer, tmp_path):
    run = Run(tmp_path, burgers, trainer.cfg, trainer=trainer)
    state = run.fresh_state()
    state.ic_values = jnp.full_like(state.ic_values, jnp.nan)
    with pytest.raises(TrainingError, match=r"non-finite at step 1 \(res=.*, ic=nan"):
        run.train(state, progress=False)


def test_autobalance_gets_one_gradient_per_term(burgers, tmp_path):
    run = Run(tmp_path, burgers, make_config(burgers, "quick", **{**TINY, "steps": 5, "balance": "autobalance",
                                                                   "optimizer": "adamw"}))
    assert run.trainer.per_term and not run.trainer.gradnorm
    state = run.train(run.fresh_state(), progress=False)
    assert len(state.carry["opt"].inner_states) == 3  # res, ic, bc: one AdamW state each
    assert np.isfinite(metrics(tmp_path)[-1]["loss"])


@pytest.mark.slow
@pytest.mark.parametrize("balance", ["dwa", "pcgrad", "mgda", "equal"])
def test_balancing_baselines_train(burgers, tmp_path, balance):
    run = Run(tmp_path, burgers, make_config(burgers, "quick", **{**TINY, "steps": 5, "balance": balance}))
    run.train(run.fresh_state(), progress=False)
    assert np.isfinite(metrics(tmp_path)[-1]["loss"])


def test_missing_optimizer_fails_with_one_clear_line(burgers, monkeypatch):
    import pinns.optim

    monkeypatch.delattr(pinns.optim, "auto_adam")
    with pytest.raises(ValueError, match="autobalance with --optimizer adam is not available: pinns.optim has no"):
        Trainer(burgers, make_config(burgers, "quick", balance="autobalance", optimizer="adam"))
    with pytest.raises(ValueError, match="unknown --balance 'magic'"):
        Trainer(burgers, make_config(burgers, "quick", balance="magic"))
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_config(burgers, "quick", optimizer="lbfgs")


DATA_PARALLEL = textwrap.dedent("""
    import json, sys
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, sys.argv[2])
    from test_train import write_burgers, TINY
    import pathlib
    from pinns.problems import get_problem
    from pinns import Trainer, make_config
    assert jax.device_count() == 4
    problem = get_problem("burgers", write_burgers(pathlib.Path(sys.argv[1])))
    cfg = make_config(problem, "quick", **{**TINY, "dtype": "float64", "balance": "none"})
    out = {}
    for n in (1, 4):
        tr = Trainer(problem, cfg, devices=jax.devices()[:n])
        carry = jax.device_put(tr.init_carry(tr.init_params(jax.random.PRNGKey(0))), tr.replicated)
        carry, m = tr.chunk_fn(5)(carry, jnp.int32(0), jax.random.PRNGKey(1), 0.0, 1.0, tr.initial_values)
        leaves = jax.tree_util.tree_leaves(carry["theta"])
        out[n] = {"loss": np.asarray(m["loss"]).tolist(), "theta": np.concatenate([np.ravel(x) for x in leaves]).tolist(),
                  "sharded": len(tr.sample(jax.random.PRNGKey(2), 0.0, 1.0, tr.initial_values)["res"].devices())}
    print(json.dumps(out))
""")


@pytest.mark.slow  # a subprocess with four host devices: JAX import and two compilations, ~12 s
def test_data_parallel_on_four_host_devices_matches_one_device(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", DATA_PARALLEL, str(tmp_path), os.path.dirname(__file__)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # float64: the sharded mean reduces in another order, round-off only
    np.testing.assert_allclose(out["4"]["loss"], out["1"]["loss"], rtol=1e-10)
    np.testing.assert_allclose(out["4"]["theta"], out["1"]["theta"], rtol=1e-9, atol=1e-12)
    assert out["4"]["sharded"] == 4


@pytest.mark.slow
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_problem_trains_a_few_steps(name, tmp_path_factory):
    """Registry sweep: quick dataset, tiny network, 4 steps over 2 windows: finite losses, full-grid evaluation."""
    from pinns.eval import evaluate_run
    from pinns.problems import EXACT

    data = None
    if name not in EXACT:
        data = tmp_path_factory.getbasetemp() / "quick"
        if not (data / f"{name}.h5").exists():
            data.mkdir(exist_ok=True)
            refsolvers.generate(name, data, quick=True, progress=False)
    problem = get_problem(name, data)
    windows = 2 if problem.time_dependent and name != "reaction_diffusion" else 1
    cfg = make_config(problem, "quick", **{**TINY, "steps": 2, "windows": windows, "log_every": 2,
                                           "balance": "gradnorm" if name != "poisson_inverse" else "none",
                                           "net": {"width": 8, "depth": 1}})
    run = Run(tmp_path_factory.mktemp(name), problem, cfg)
    state = run.train(run.fresh_state(), progress=False)
    assert np.all(np.isfinite([m["loss"] for m in metrics(run.dir)]))
    result = evaluate_run(run, state)
    assert set(result["rel_l2"]) >= set(problem.metric_fields) and np.all(np.isfinite(list(result["rel_l2"].values())))
