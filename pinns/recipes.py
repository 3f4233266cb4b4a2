"""Optimizer and learning-rate recipes: the registries that map configuration names to optax objects.

One place where names meet constructors:

* `OPTIMIZERS`: ``name -> fn(cfg, learning_rate_or_schedule) -> optax.GradientTransformation``;
* `SCHEDULES`: ``name -> fn(cfg) -> schedule(step)`` (the step counts within a time window);
* `make_optimizer`: the optimizer of a configuration with its balancing (the trainer's own
  "gradnorm" / "ntk" / "none", AutoBalance, or a `pinns.optim.BALANCERS` baseline).

Adding an optimizer = one function ``fn(cfg, lr)`` and its name in `OPTIMIZERS`. The configuration
is read by attribute only (any `pinns.config.TrainConfig`), so this module imports no trainer code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax.numpy as jnp
import optax

from . import optim

# ----------------------------------------------------------------------------- optimizers


def _moments(cfg) -> dict:
    eps = (("eps", getattr(cfg, "eps", None)), ("eps_root", getattr(cfg, "eps_root", None))) \
        if cfg.optimizer in ("adam", "adamw") else ()
    return {k: v for k, v in (("b1", cfg.b1), ("b2", cfg.b2), *eps) if v is not None}


def _adam(cfg, lr) -> optax.GradientTransformation:
    return optax.adam(lr, **_moments(cfg))


def _adamw(cfg, lr) -> optax.GradientTransformation:
    return optax.adamw(lr, weight_decay=cfg.weight_decay, **_moments(cfg))


def _soap(cfg, lr) -> optax.GradientTransformation:
    soap = _from_optim("soap", "optimizer 'soap'")
    extra = {"precondition_frequency": cfg.soap_frequency} if cfg.soap_frequency else {}
    return soap(lr, weight_decay=cfg.weight_decay, **_moments(cfg), **extra)


OPTIMIZERS: dict[str, Callable] = {"adam": _adam, "adamw": _adamw, "soap": _soap}
"""name -> fn(cfg, learning_rate_or_schedule) -> optax.GradientTransformation."""

QUASI_NEWTON: dict[str, Callable] = {name: (lambda cfg, name=name: getattr(optim, name)())
                                     for name in ("bfgs", "ssbfgs", "ssbroyden", "lbfgs")}
"""name -> fn(cfg) -> optax.GradientTransformationExtraArgs: quasi-Newton methods with a strong-Wolfe line
search (`pinns.optim.quasi_newton`; no learning rate). Their ``update`` needs ``value=, grad=, value_fn=``."""


def _lm(cfg, solver: str = "cholesky"):
    geodesic = cfg.lm_geodesic if solver == "cholesky" else 0.0
    return optim.levenberg_marquardt(damping_init=cfg.lm_damping, scaling=cfg.lm_scaling, rule=cfg.lm_rule,
                                     geodesic=geodesic, solver=solver)


GAUSS_NEWTON: dict[str, Callable] = {"lm": _lm, "lm_cg": lambda cfg: _lm(cfg, "cg")}
"""name -> fn(cfg) -> Levenberg-Marquardt (`pinns.optim.levenberg_marquardt`): "lm" dense Cholesky on the Jacobian
of the residual vector, "lm_cg" matrix-free conjugate gradients. Their ``update`` needs the residuals
(`pinns.step.make_gn_chunk`)."""

SECOND_ORDER = {**QUASI_NEWTON, **GAUSS_NEWTON}
"""Every phase-only method: quasi-Newton and Gauss-Newton (no learning rate, kept points, fixed loss weights)."""


@dataclass(frozen=True)
class Phase:
    """One optimizer phase of a run: steps [start, end) of the window, run by `optimizer`.

    ``per_term`` / ``needs_losses``: see `make_optimizer`; ``quasi_newton``: the update needs the loss
    function of the current batch (`pinns.step.make_qn_chunk`); ``gauss_newton``: it needs the residual vector
    and its Jacobian (`pinns.step.make_gn_chunk`).
    """

    name: str
    start: int
    end: int
    optimizer: object
    per_term: bool = False
    needs_losses: bool = False
    quasi_newton: bool = False
    gauss_newton: bool = False


def phases_of(cfg) -> list:
    """[(optimizer name, steps)] of ``cfg.optimizer``: ``"adam"`` is one phase of ``cfg.steps`` steps,
    ``"adam:5000,ssbroyden:50000"`` two phases run one after the other. ValueError (one line) for an
    unknown name or a malformed list."""
    text = cfg.optimizer
    if ":" not in text:
        if text not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {text!r} (known: {', '.join(OPTIMIZERS)}; quasi-Newton and "
                             f"Gauss-Newton methods {', '.join(SECOND_ORDER)} run as a phase, e.g. adam:2000,lm:500)")
        return [(text, cfg.steps)]
    out = []
    for part in text.split(","):
        name, _, steps = part.strip().partition(":")
        if name not in OPTIMIZERS and name not in SECOND_ORDER:
            raise ValueError(f"unknown optimizer {name!r} in {text!r} (known: {', '.join([*OPTIMIZERS, *SECOND_ORDER])})")
        if not steps.isdigit() or int(steps) < 1:
            raise ValueError(f"optimizer phases are name:steps with steps >= 1, got {part.strip()!r}")
        out.append((name, int(steps)))
    return out


def make_phases(cfg, n_terms: int) -> list:
    """The `Phase` list of a configuration (one phase unless ``cfg.optimizer`` lists several)."""
    import dataclasses

    phases, start = [], 0
    listed = phases_of(cfg)
    for name, steps in listed:
        if name in QUASI_NEWTON:
            phases.append(Phase(name, start, start + steps, QUASI_NEWTON[name](cfg), quasi_newton=True))
        elif name in GAUSS_NEWTON:
            phases.append(Phase(name, start, start + steps, GAUSS_NEWTON[name](cfg), gauss_newton=True))
        else:
            one = cfg if cfg.optimizer == name else dataclasses.replace(cfg, optimizer=name)
            opt, per_term, needs_losses = make_optimizer(one, n_terms)
            phases.append(Phase(name, start, start + steps, opt, per_term, needs_losses))
        start += steps
    return phases



def _from_optim(name: str, what: str):
    """``pinns.optim.<name>``, looked up when used (a ValueError naming `what` if it is missing)."""
    fn = getattr(optim, name, None)
    if fn is None:
        raise ValueError(f"{what} is not available: pinns.optim has no {name!r}")
    return fn


TRAINER_BALANCES = ("gradnorm", "ntk", "none", "rba")
"""Balancing done by the trainer itself: one gradient per step; "gradnorm" and "ntk" weights are
refreshed between step chunks every ``gradnorm_every`` steps (`pinns.optim.refresh_weights`); "rba"
keeps the term weights and weights each residual point (`pinns.optim.rba_update`, every step)."""

BALANCES = (*TRAINER_BALANCES, "autobalance")
"""Balancing names handled here; any other is looked up in `pinns.optim.BALANCERS` (pcgrad, dwa, ...)."""

# ----------------------------------------------------------------------------- schedules


def _warmup_exponential(cfg) -> Callable:
    return optax.warmup_exponential_decay_schedule(
        init_value=cfg.lr_init, peak_value=cfg.lr, warmup_steps=cfg.warmup_steps,
        transition_steps=cfg.decay_steps, decay_rate=cfg.decay_rate,
        end_value=cfg.lr_floor if cfg.lr_floor > 0 else None)


def _autobalance_staircase(cfg) -> Callable:
    """lr_init -> lr linearly over warmup_steps, then lr * rate^(floor((step - warmup) / every) * every / steps),
    never below lr_floor.

    optax.warmup_exponential_decay_schedule(transition_steps=decay_every, decay_rate=rate**(every / steps),
    staircase=True, end_value=lr_floor) is the same schedule mathematically, but it rounds differently
    (up to ~4e-6 relative in float32, step 0 included), so it would change every existing AutoBalance run;
    this form stays, and tests/pinns/test_recipes.py checks it against the paper and against optax.
    """
    def schedule(step):  # AutoBalance appendix A.4: staircase decay applied every `decay_every` steps
        step = jnp.asarray(step, jnp.float32)
        warm = cfg.lr_init + (cfg.lr - cfg.lr_init) * step / max(cfg.warmup_steps, 1)
        since = jnp.floor(jnp.maximum(step - cfg.warmup_steps, 0) / cfg.decay_every) * cfg.decay_every
        decayed = jnp.maximum(cfg.lr * cfg.decay_rate ** (since / cfg.decay_steps), cfg.lr_floor)
        return jnp.where(step < cfg.warmup_steps, warm, decayed)

    return schedule


SCHEDULES: dict[str, Callable] = {"warmup_exponential": _warmup_exponential, "autobalance": _autobalance_staircase}
"""name -> fn(cfg) -> schedule(step): "warmup_exponential" (optax, smooth decay) or "autobalance"
(linear warm-up, then decay_rate^(step / decay_steps) updated every `decay_every` steps, floor `lr_floor`)."""


def make_schedule(cfg) -> Callable:
    """Learning rate as a function of the step within a window."""
    return SCHEDULES[cfg.schedule](cfg)


# ----------------------------------------------------------------------------- optimizer + balancing


def make_optimizer(cfg, n_terms: int):
    """(optimizer, per_term, needs_losses).

    ``per_term``: the optimizer's ``update`` takes the list of per-term gradients (AutoBalance and
    the `pinns.optim.BALANCERS` baselines); ``needs_losses``: it also takes ``losses=`` (DWA).
    "gradnorm", "ntk" and "none" are the trainer's own (`TRAINER_BALANCES`).
    """
    schedule = make_schedule(cfg)
    make_opt = lambda: OPTIMIZERS[cfg.optimizer](cfg, schedule)  # noqa: E731
    if cfg.balance in TRAINER_BALANCES:
        return make_opt(), False, False
    if cfg.balance == "autobalance":  # per-term moments, decoupled weight decay applied once
        # the AutoBalance form of the optimizer: pinns.optim.auto_adam, auto_adamw, auto_soap
        auto = _from_optim(f"auto_{cfg.optimizer}", f"--balance autobalance with --optimizer {cfg.optimizer}")
        kwargs = _moments(cfg)
        if cfg.optimizer != "adam":
            kwargs["weight_decay"] = cfg.weight_decay
        if cfg.optimizer == "soap" and cfg.soap_frequency:
            kwargs["precondition_frequency"] = cfg.soap_frequency
        return auto(schedule, n_terms, **kwargs), True, False
    if cfg.balance not in known_balances():
        raise ValueError(f"unknown --balance {cfg.balance!r} (known: {balance_names()})")
    return optim.BALANCERS[cfg.balance](make_opt, n_terms), True, cfg.balance == "dwa"


BALANCE_LABELS = {"config": "config (ConFIG: conflict-free gradient direction)",
                  "rba": "rba (residual-based attention per point)"}
"""How a --balance name is shown where it is not self-explanatory."""


def known_balances() -> tuple:
    """Every --balance name, each once: the trainer's, AutoBalance, then the `pinns.optim.BALANCERS` baselines."""
    return tuple(dict.fromkeys([*BALANCES, *optim.BALANCERS]))


def balance_names() -> str:
    """The known --balance names, each once (for messages)."""
    return ", ".join(BALANCE_LABELS.get(name, name) for name in known_balances())


__all__ = ["BALANCE_LABELS", "BALANCES", "GAUSS_NEWTON", "known_balances", "OPTIMIZERS", "Phase", "QUASI_NEWTON",
           "SECOND_ORDER", "make_phases",
           "phases_of", "SCHEDULES", "TRAINER_BALANCES", "balance_names", "make_optimizer",
           "make_schedule"]
