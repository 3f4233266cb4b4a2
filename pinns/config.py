"""Training configuration: `TrainConfig` (saved as ``config.json``), `make_config`, `validate`.

A run is fully described by its problem name and one `TrainConfig`: the problem's preset
(`pinns.problems._presets`) gives the defaults, the command line overrides them, and `validate`
rejects impossible settings before any heavy work starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import jax

from .nets import NetConfig
from .problems import Problem
from .recipes import GAUSS_NEWTON, SECOND_ORDER, SCHEDULES, balance_names, known_balances, phases_of

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.npz"


class TrainingError(RuntimeError):
    """Training stopped (non-finite loss, bad configuration); the message is one line."""


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs besides the problem and its data (saved as ``config.json``).

    Defaults are the SOAP-PINN pipeline (Table 4, Burgers); problems override them through their
    presets (`pinns.problems._presets`) and the command line overrides those.

    Attributes:
        problem: registry name.
        data: dataset folder or file, absolute ("" for exact problems).
        data_sha256: ``fields_sha256`` of that dataset when the run started ("" for exact problems);
            opening the run with a dataset that differs warns.
        preset: "paper" or "quick" (recorded; the values below are what counts).
        net: network (`pinns.nets.NetConfig`).
        separate_nets: one network per field (the inverse problem's u and a).
        optimizer: key of `OPTIMIZERS`, or phases run one after the other, ``"adam:5000,ssbroyden:50000"``
            (name:steps, names of `OPTIMIZERS` or `QUASI_NEWTON`; `steps` is then their sum and is set
            from them). Each phase starts a fresh optimizer state (and its own schedule) from the
            parameters the previous phase ended with; quasi-Newton phases take no learning rate.
        balance: "gradnorm" (the trainer's own, SOAP-PINN), "ntk" (NTK-trace weights, refreshed like
            grad-norm), "none", "autobalance" (`pinns.optim.auto_adam`,
            `auto_adamw`, `auto_soap` by optimizer), or a baseline of `pinns.optim.BALANCERS`
            ("equal", "dwa", "pcgrad", "imtlg", "config", "mgda"), or "rba": fixed term weights and
            residual-based attention, one weight per residual point (`pinns.optim.rba_update`).
        lr, lr_init: peak and initial learning rate of the warm-up.
        schedule: "warmup_exponential" (optax, smooth decay) or "autobalance" (staircase every
            `decay_every` steps, floor `lr_floor`).
        weight_decay: decoupled weight decay of adamw / soap.
        b1, b2, soap_frequency: optimizer moments and SOAP preconditioner refresh (None: the
            optimizer's default).
        eps, eps_root: Adam's m / (sqrt(v + eps_root) + eps) (None: optax's 1e-8 and 0; the
            AutoBalance paper's Algorithm 1 prints eps inside the root: eps=0, eps_root=1e-8).
        steps: steps per time window; windows: number of time windows.
        batch: residual points per step (divisible by `causal_chunks` and the device count).
        n_ic, n_bc: initial / boundary points per step (0: batch and batch // 4).
        causal_chunks, causal_eps: causal weighting (0 chunks: off).
        gradnorm_every, gradnorm_momentum: grad-norm (and NTK) weighting schedule.
        pi_init: fit PirateNet's output layer to the initial data by least squares.
        fixed_points: draw the collocation points once (AutoBalance setting) instead of every step.
        resample_every: 0: points drawn every step (or once, `fixed_points`); K > 0: one batch of points
            is kept for K steps and redrawn at every multiple of K (what quasi-Newton line searches and
            RBA weights need). The batch is part of the checkpoint; batch k uses the key of
            draw k, deterministic per seed and resumable.
        sampling: how a kept batch's residual points are redrawn: "uniform", or "rad" (residual-based
            adaptive distribution, Wu et al. 2023: from 4 x batch uniform candidates, point i with
            probability proportional to |r_i| / mean |r| + 1; the first batch is uniform).
        hard_constraints: build the initial and zero boundary data into the network's output
            (`pinns.constraints`); only the residual (and data) terms are trained.
        seed: PRNG seed (network init and sampling).
        log_every, ckpt_every: metrics / checkpoint cadence in steps.
        eval_points: at most this many reference points for the rel_l2 logged during training.
        log_alignment: log the intra-step gradient alignment (one extra per-term gradient pass per log).
        dtype: "float32" or "float64".
        lm_damping, lm_scaling: Levenberg-Marquardt phases (`pinns.optim.levenberg_marquardt`): the first
            damping is lm_damping * max(diag(J^T J)); D = I ("identity") or diag(J^T J) ("diag").
        lm_rule, lm_geodesic: damping rule ("nielsen" or "decrease") and geodesic acceleration (0: off, else the
            largest 2 |a| / |delta| accepted), see `pinns.optim.levenberg_marquardt`.
        until_loss: stop the run (checkpointed, reason in ``stop.json``) after the first chunk whose last batch
            loss is at or below this (0: off).
    """

    problem: str = ""
    data: str = ""
    data_sha256: str = ""
    preset: str = "paper"
    net: NetConfig = field(default_factory=NetConfig)
    separate_nets: bool = False
    optimizer: str = "adam"
    balance: str = "gradnorm"
    lr: float = 1e-3
    lr_init: float = 0.0
    schedule: str = "warmup_exponential"
    warmup_steps: int = 5000
    decay_steps: int = 2000
    decay_rate: float = 0.9
    decay_every: int = 1
    lr_floor: float = 0.0
    weight_decay: float = 0.01
    b1: float | None = None
    b2: float | None = None
    eps: float | None = None
    soap_frequency: int | None = None
    eps: float | None = None
    eps_root: float | None = None
    steps: int = 100_000
    windows: int = 1
    batch: int = 8192
    n_ic: int = 0
    n_bc: int = 0
    causal_chunks: int = 16
    causal_eps: float = 1.0
    gradnorm_every: int = 1000
    gradnorm_momentum: float = 0.9
    pi_init: bool = True
    fixed_points: bool = False
    resample_every: int = 0
    sampling: str = "uniform"
    hard_constraints: bool = False
    seed: int = 0
    log_every: int = 100
    ckpt_every: int = 1000
    eval_points: int = 20_000
    log_alignment: bool = True
    dtype: str = "float32"
    lm_damping: float = 1e-3
    lm_scaling: str = "identity"
    lm_rule: str = "nielsen"
    lm_geodesic: float = 0.0
    until_loss: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        values = dict(values)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        net = values.pop("net", {})
        if isinstance(net, dict):
            net = NetConfig(**net)
        return cls(net=net, **values)


def make_config(problem: Problem, preset: str = "paper", **overrides) -> TrainConfig:
    """The configuration of `problem` under `preset` ("paper" | "quick"), then `overrides`.

    ``overrides`` take TrainConfig field names; ``net`` may be a dict of NetConfig fields that
    update the preset's network. None values are ignored (unset command-line options).
    """
    if preset not in problem.presets:
        raise ValueError(f"{problem.name}: unknown preset {preset!r} (known: {', '.join(problem.presets)})")
    values = {**problem.presets[preset]}
    net = dict(values.pop("net", {}))
    net.update(overrides.pop("net", None) or {})
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.update(problem=problem.name, preset=preset, net=net)
    if ":" in str(values.get("optimizer", "")) and overrides.get("steps") is None:
        values["steps"] = sum(n for _, n in phases_of(TrainConfig.from_dict({**values, "net": {}})))
    cfg = TrainConfig.from_dict(values)
    validate(cfg, problem)
    return cfg


COMPRESSED = ("warmup_steps", "decay_steps", "decay_every", "gradnorm_every")
"""The step counts of a schedule that `compressed_schedule` scales with the run length."""


def compressed_schedule(problem: Problem, steps: int, preset: str = "paper") -> dict:
    """Overrides that run `preset`'s schedule in `steps` steps instead of its own number.

    The preset's warm-up, decay length, staircase period and grad-norm / NTK refresh period are
    scaled by steps / preset steps (rounded, at least 1), so a shortened run passes through the
    same phases (e.g. the AutoBalance paper's 30 000-step recipe in 3000 steps).
    """
    full = make_config(problem, preset)
    factor = steps / full.steps
    return {"steps": steps, **{k: max(1, round(getattr(full, k) * factor)) for k in COMPRESSED}}


def validate(cfg: TrainConfig, problem: Problem) -> None:
    """Raise ValueError (one line) for settings that cannot work, before any heavy work."""
    n_dev = jax.device_count()
    chunks = cfg.causal_chunks if problem.time_dependent else 0
    if cfg.steps < 1 or cfg.windows < 1 or cfg.batch < 1:
        raise ValueError("steps, windows and batch must be positive")
    if cfg.windows > 1 and not problem.time_dependent:
        raise ValueError(f"{problem.name} is steady: time windows make no sense")
    if chunks and cfg.batch % chunks:
        raise ValueError(f"batch {cfg.batch} is not divisible by causal_chunks {chunks}")
    if cfg.batch % n_dev:
        raise ValueError(f"batch {cfg.batch} is not divisible by the {n_dev} devices")
    phases = phases_of(cfg)
    if sum(n for _, n in phases) != cfg.steps:
        raise ValueError(f"steps {cfg.steps} differ from the sum of the optimizer phases {cfg.optimizer!r}")
    if cfg.balance not in known_balances():
        raise ValueError(f"unknown --balance {cfg.balance!r} (known: {balance_names()})")
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    if cfg.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {cfg.dtype!r}")
    if cfg.log_every < 1 or cfg.ckpt_every < 1:
        raise ValueError("log_every and ckpt_every must be positive")
    _validate_accuracy_options(cfg, problem, phases, chunks)


def _validate_accuracy_options(cfg: TrainConfig, problem: Problem, phases: list, chunks: int) -> None:
    """Phases, kept batches, RAD, RBA and hard constraints (the high-accuracy path)."""
    quasi_newton = any(name in SECOND_ORDER for name, _ in phases)  # quasi-Newton and Gauss-Newton alike
    kept = cfg.resample_every > 0 or cfg.fixed_points
    if (len(phases) > 1 or cfg.resample_every or cfg.hard_constraints) and cfg.windows != 1:
        raise ValueError("optimizer phases, resample_every and hard_constraints need windows = 1")
    if cfg.resample_every < 0:
        raise ValueError(f"resample_every must be >= 0, got {cfg.resample_every}")
    if quasi_newton and cfg.balance not in ("none", "rba"):
        raise ValueError(f"quasi-Newton and Gauss-Newton phases need a fixed loss: --balance none or rba, "
                         f"not {cfg.balance!r}")
    if (quasi_newton or cfg.balance == "rba") and not kept:
        raise ValueError("quasi-Newton and Gauss-Newton phases and RBA weights need the points kept between steps "
                         "(resample_every > 0 or fixed_points)")
    if any(name in GAUSS_NEWTON for name, _ in phases) and chunks:
        raise ValueError("Gauss-Newton phases need causal_chunks 0 (the residual vector has no causal weights)")
    if cfg.lm_scaling not in ("identity", "diag") or cfg.lm_rule not in ("nielsen", "decrease") \
            or not cfg.lm_damping > 0 or not cfg.lm_geodesic >= 0:
        raise ValueError(f"lm_scaling must be identity or diag, lm_rule nielsen or decrease, lm_damping > 0 and "
                         f"lm_geodesic >= 0; got {cfg.lm_scaling!r}, {cfg.lm_rule!r}, {cfg.lm_damping!r}, "
                         f"{cfg.lm_geodesic!r}")
    if not cfg.until_loss >= 0:
        raise ValueError(f"until_loss must be >= 0, got {cfg.until_loss!r}")
    if cfg.sampling not in ("uniform", "rad"):
        raise ValueError(f"sampling must be uniform or rad, got {cfg.sampling!r}")
    if cfg.sampling == "rad" and (not cfg.resample_every or chunks):
        raise ValueError("sampling rad needs resample_every > 0 and no causal chunks (causal_chunks 0)")
    if cfg.hard_constraints:
        from .constraints import check

        check(problem, cfg.windows)


__all__ = ["CHECKPOINT_FILE", "COMPRESSED", "compressed_schedule", "CONFIG_FILE", "METRICS_FILE", "TrainConfig", "TrainingError", "make_config", "validate"]
