"""Recipes: the AutoBalance staircase schedule is the paper's, and what optax's staircase would give."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinns.config import make_config
from pinns.problems import get_problem
from pinns.recipes import make_schedule

# AutoBalance paper, appendix A.4: lr 1e-4 -> 1e-2 linearly over 1500 steps, then x0.75 per 1000 steps
# applied every 50 steps (staircase), never below the floor
STEPS = [0, 1, 750, 1499, 1500, 1549, 1550, 2499, 2500, 11_500, 30_000, 10**6]


def paper_lr(step, floor):
    if step < 1500:
        return 1e-4 + (1e-2 - 1e-4) * step / 1500
    return max(1e-2 * 0.75 ** (np.floor((step - 1500) / 50) * 50 / 1000), floor)


@pytest.mark.parametrize("name", ["reaction_diffusion", "helmholtz"])
def test_autobalance_schedule_is_the_papers_at_sampled_steps(name):
    cfg = make_config(get_problem(name), "paper")
    lr = jax.jit(make_schedule(cfg))
    for step in STEPS:
        assert float(lr(step)) == pytest.approx(paper_lr(step, cfg.lr_floor), rel=2e-6), step


def test_autobalance_schedule_equals_optax_staircase_to_float32_round_off():
    """optax.warmup_exponential_decay_schedule(staircase=True) expresses the same schedule with
    transition_steps = decay_every and rate**(decay_every / decay_steps); it rounds differently (a few
    float32 ulp), so the trainer keeps its own form (bit-identical runs) and this test pins the equality."""
    cfg = make_config(get_problem("reaction_diffusion"), "paper")
    ox = optax.warmup_exponential_decay_schedule(
        init_value=cfg.lr_init, peak_value=cfg.lr, warmup_steps=cfg.warmup_steps, transition_steps=cfg.decay_every,
        decay_rate=cfg.decay_rate ** (cfg.decay_every / cfg.decay_steps), staircase=True, end_value=cfg.lr_floor)
    steps = jnp.arange(0, 40_000, 7, dtype=jnp.int32)
    ours = np.asarray(jax.jit(jax.vmap(make_schedule(cfg)))(steps))
    np.testing.assert_allclose(ours, np.asarray(jax.jit(jax.vmap(ox))(steps)), rtol=1e-5)
