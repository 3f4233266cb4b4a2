"""ONE generic PINN training loop for every problem (SOAP-PINN pipeline, AutoBalance option).

Per step: draw random collocation points (residual points stratified in `causal_chunks` time
chunks; initial-condition points from the initial data; boundary points on the Dirichlet faces),
evaluate the loss terms (mean squares; derivatives by forward-mode `jax.jvp`, `jax.vmap` over
points), combine them with the current weights and apply one optax update. Steps run in
`jax.lax.scan` chunks of `log_every` inside one `jit`; after each chunk the host checks for
non-finite losses, logs one line of ``metrics.jsonl`` and writes a checkpoint every `ckpt_every`.

Techniques (SOAP-PINN appendix F):

* grad-norm weights: every `gradnorm_every` steps lambda_i <- m lambda_i + (1 - m) sum_j |g_j| / |g_i|
  with the per-term gradients g_i of one `jax.jacrev` pass (`grad_norm_weights`);
* causal weights: L_r = (1/M) sum_i w_i L_r^i, w_i = exp(-eps sum_{k<i} L_r^k), stop-gradient
  (`causal_weights`);
* time marching: `windows` windows of `steps` steps; window k starts from the prediction of
  window k - 1 at its end time, its network from window k - 1's parameters (fresh optimizer state,
  schedule restarted), and sees window-local time t - t_k;
* learning rate: linear warm-up then exponential decay (`make_schedule`).

Data parallel: a `jax.sharding.Mesh` over `jax.devices()`; the residual batch is sharded along
its points, parameters and optimizer state are replicated; the same code runs on 1 or N devices.
Randomness is stateless (`fold_in(key, step)`), so `--resume` continues bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import signal
import time
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from . import checkpoint as ckpt
from .nets import NetConfig, count_params, embedding, make_net, pirate_features, set_output_layer, stack_nets
from .problems import Problem, get_problem
from .problems._base import d as partial_d

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.npz"
NTK_MAX_POINTS = 2048
"""At most this many points per loss block enter the NTK traces (per-example gradients: points x parameters)."""


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
        data: dataset folder or file ("" for exact problems).
        preset: "paper" or "quick" (recorded; the values below are what counts).
        net: network (`pinns.nets.NetConfig`).
        separate_nets: one network per field (the inverse problem's u and a).
        optimizer: key of `OPTIMIZERS`.
        balance: "gradnorm" (the trainer's own, SOAP-PINN), "ntk" (NTK-trace weights, refreshed like
            grad-norm), "none", "autobalance" (`pinns.optim.auto_adam`,
            `auto_adamw`, `auto_soap` by optimizer), or a baseline of `pinns.optim.BALANCERS`
            ("equal", "dwa", "pcgrad", "imtlg", "config", "mgda").
        lr, lr_init: peak and initial learning rate of the warm-up.
        schedule: "warmup_exponential" (optax, smooth decay) or "autobalance" (staircase every
            `decay_every` steps, floor `lr_floor`).
        weight_decay: decoupled weight decay of adamw / soap.
        b1, b2, soap_frequency: optimizer moments and SOAP preconditioner refresh (None: the
            optimizer's default).
        steps: steps per time window; windows: number of time windows.
        batch: residual points per step (divisible by `causal_chunks` and the device count).
        n_ic, n_bc: initial / boundary points per step (0: batch and batch // 4).
        causal_chunks, causal_eps: causal weighting (0 chunks: off).
        gradnorm_every, gradnorm_momentum: grad-norm (and NTK) weighting schedule.
        pi_init: fit PirateNet's output layer to the initial data by least squares.
        fixed_points: draw the collocation points once (AutoBalance setting) instead of every step.
        seed: PRNG seed (network init and sampling).
        log_every, ckpt_every: metrics / checkpoint cadence in steps.
        eval_points: at most this many reference points for the rel_l2 logged during training.
        log_alignment: log the intra-step gradient alignment (one extra per-term gradient pass per log).
        dtype: "float32" or "float64".
    """

    problem: str = ""
    data: str = ""
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
    soap_frequency: int | None = None
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
    seed: int = 0
    log_every: int = 100
    ckpt_every: int = 1000
    eval_points: int = 20_000
    log_alignment: bool = True
    dtype: str = "float32"

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
    cfg = TrainConfig.from_dict(values)
    validate(cfg, problem)
    return cfg


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
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
    if cfg.schedule not in ("warmup_exponential", "autobalance"):
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    if cfg.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {cfg.dtype!r}")
    if cfg.log_every < 1 or cfg.ckpt_every < 1:
        raise ValueError("log_every and ckpt_every must be positive")


# ----------------------------------------------------------------------------- optimizers


def _moments(cfg: TrainConfig) -> dict:
    return {k: v for k, v in (("b1", cfg.b1), ("b2", cfg.b2)) if v is not None}


def _adam(cfg: TrainConfig, lr) -> optax.GradientTransformation:
    return optax.adam(lr, **_moments(cfg))


def _adamw(cfg: TrainConfig, lr) -> optax.GradientTransformation:
    return optax.adamw(lr, weight_decay=cfg.weight_decay, **_moments(cfg))


def _soap(cfg: TrainConfig, lr) -> optax.GradientTransformation:
    soap = _from_optim("soap", "optimizer 'soap'")
    extra = {"precondition_frequency": cfg.soap_frequency} if cfg.soap_frequency else {}
    return soap(lr, weight_decay=cfg.weight_decay, **_moments(cfg), **extra)


OPTIMIZERS: dict[str, Callable] = {"adam": _adam, "adamw": _adamw, "soap": _soap}
"""name -> fn(cfg, learning_rate_or_schedule) -> optax.GradientTransformation."""

BALANCES = ("gradnorm", "ntk", "none", "autobalance")
"""Balancing names handled here; any other is looked up in `pinns.optim.BALANCERS` (pcgrad, dwa, ...)."""


def _from_optim(name: str, what: str):
    try:
        import pinns.optim as optim
    except ImportError as exc:
        raise ValueError(f"{what} needs pinns.optim, which does not import ({exc})") from None
    fn = getattr(optim, name, None)
    if fn is None:
        raise ValueError(f"{what} is not available: pinns.optim has no {name!r}")
    return fn


def make_schedule(cfg: TrainConfig) -> Callable:
    """Learning rate as a function of the step within a window."""
    if cfg.schedule == "warmup_exponential":
        return optax.warmup_exponential_decay_schedule(
            init_value=cfg.lr_init, peak_value=cfg.lr, warmup_steps=cfg.warmup_steps,
            transition_steps=cfg.decay_steps, decay_rate=cfg.decay_rate,
            end_value=cfg.lr_floor if cfg.lr_floor > 0 else None)

    def schedule(step):  # AutoBalance appendix A.4: staircase decay applied every `decay_every` steps
        step = jnp.asarray(step, jnp.float32)
        warm = cfg.lr_init + (cfg.lr - cfg.lr_init) * step / max(cfg.warmup_steps, 1)
        since = jnp.floor(jnp.maximum(step - cfg.warmup_steps, 0) / cfg.decay_every) * cfg.decay_every
        decayed = jnp.maximum(cfg.lr * cfg.decay_rate ** (since / cfg.decay_steps), cfg.lr_floor)
        return jnp.where(step < cfg.warmup_steps, warm, decayed)

    return schedule


def make_optimizer(cfg: TrainConfig, n_terms: int):
    """(optimizer, per_term, needs_losses).

    ``per_term``: the optimizer's ``update`` takes the list of per-term gradients (AutoBalance and
    the `pinns.optim.BALANCERS` baselines); ``needs_losses``: it also takes ``losses=`` (DWA).
    "gradnorm", "ntk" and "none" are the trainer's own (one gradient per step; grad-norm and NTK
    weights are refreshed between step chunks every `gradnorm_every` steps, see `Trainer.gradnorm_update`).
    """
    schedule = make_schedule(cfg)
    make_opt = lambda: OPTIMIZERS[cfg.optimizer](cfg, schedule)  # noqa: E731
    if cfg.balance in ("gradnorm", "ntk", "none"):
        return make_opt(), False, False
    if cfg.balance == "autobalance":  # per-term moments, decoupled weight decay applied once
        auto = _from_optim(f"auto_{cfg.optimizer}", f"--balance autobalance with --optimizer {cfg.optimizer}")
        kwargs = _moments(cfg)
        if cfg.optimizer != "adam":
            kwargs["weight_decay"] = cfg.weight_decay
        if cfg.optimizer == "soap" and cfg.soap_frequency:
            kwargs["precondition_frequency"] = cfg.soap_frequency
        return auto(schedule, n_terms, **kwargs), True, False
    balancers = _from_optim("BALANCERS", f"--balance {cfg.balance}")
    if cfg.balance not in balancers:
        known = ", ".join(["gradnorm", "none", *sorted(balancers)])
        raise ValueError(f"unknown --balance {cfg.balance!r} (known: {known})")
    return balancers[cfg.balance](make_opt, n_terms), True, cfg.balance == "dwa"


# ----------------------------------------------------------------------------- weighting rules


def grad_norm_weights(norms):
    """lambda_i = sum_j |g_j| / |g_i| (Wang et al. 2021): every weighted term gets the same gradient norm.

    A term whose gradient vanishes (|g_i| <= 1e-12 sum_j |g_j|: e.g. continuity of an initially zero
    velocity) carries no information and gets weight 1 instead of an overflowing ratio.
    """
    total = jnp.sum(norms)
    alive = norms > 1e-12 * total
    return jnp.where(alive, total / jnp.where(alive, norms, 1.0), 1.0)


def causal_weights(chunk_losses, eps: float):
    """w_i = exp(-eps sum_{k<i} L^k) for chunk losses L: (M,), no gradient through w."""
    prefix = jnp.cumsum(chunk_losses) - chunk_losses
    return jax.lax.stop_gradient(jnp.exp(-eps * prefix))


def alignment_score(vectors):
    """A(v_1..v_n) = 2 |(1/n) sum v_i / |v_i||^2 - 1 in [-1, 1] (SOAP-PINN eq. 3); vectors: (n, p)."""
    unit = vectors / jnp.maximum(jnp.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
    return 2 * jnp.sum(jnp.mean(unit, axis=0) ** 2) - 1


def _flat(tree):
    return jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(tree)])


# ----------------------------------------------------------------------------- trainer


class Trainer:
    """Loss, sampling and jitted step chunks for one (problem, config).

    Args:
        problem: the problem (see `pinns.problems.get_problem`).
        cfg: the training configuration.
        devices: devices of the data-parallel mesh (default: all of `jax.devices()`).
    """

    def __init__(self, problem: Problem, cfg: TrainConfig, devices=None):
        validate(cfg, problem)
        self.problem, self.cfg = problem, cfg
        self.dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
        if cfg.dtype == "float64" and not jax.config.jax_enable_x64:
            raise ValueError("dtype float64 needs jax_enable_x64 (the CLI sets it)")
        self.terms = problem.terms
        self.n_terms = len(self.terms)
        self.base_weights = jnp.asarray([problem.loss_weights.get(t, 1.0) for t in self.terms], self.dtype)
        self.axes = problem.axes
        self.t_axis = self.axes.index("t") if problem.time_dependent else None
        self.chunks = cfg.causal_chunks if problem.time_dependent else 0
        self.n_ic = cfg.n_ic or cfg.batch
        self.n_bc = cfg.n_bc or max(cfg.batch // 4, 1)
        self.field_index = {f: i for i, f in enumerate(problem.fields)}
        self.ic_idx = np.array([self.field_index[f] for f in problem.ic_fields])
        self.bc_idx = np.array([self.field_index[f] for f in problem.dirichlet_fields])

        # windows (time marching)
        if problem.time_dependent:
            t0, t1 = problem.domain["t"]
            h = (t1 - t0) / cfg.windows
            self.window_bounds = [(t0 + k * h, t0 + (k + 1) * h) for k in range(cfg.windows)]
        else:
            self.window_bounds = [(0.0, 0.0)]

        # network: periodic embedding (time shifted to the window start inside `model`)
        periods = problem.periods
        self._embed_static, in_dim = embedding(self.axes, periods)
        if cfg.separate_nets:
            self.net = stack_nets([make_net(cfg.net, in_dim, 1) for _ in problem.fields])
        else:
            self.net = make_net(cfg.net, in_dim, len(problem.fields))

        # fixed arrays
        self.ic_points = None if problem.initial is None else jnp.asarray(problem.initial[0], self.dtype)
        self.initial_values = None if problem.initial is None else jnp.asarray(problem.initial[1], self.dtype)
        if problem.data is not None:
            pts, vals, idx = problem.data
            self.data = (jnp.asarray(pts, self.dtype), jnp.asarray(vals, self.dtype), jnp.asarray(idx))
        self.faces = [(self.axes.index(a), side) for a, side in problem.faces]

        self.optimizer, self.per_term, self.needs_losses = make_optimizer(cfg, self.n_terms)
        self.schedule = make_schedule(cfg)
        self.gradnorm = cfg.balance in ("gradnorm", "ntk") and not self.per_term  # weights refreshed between chunks

        devices = list(devices if devices is not None else jax.devices())
        self.mesh = Mesh(np.array(devices), ("data",))
        self.replicated = NamedSharding(self.mesh, P())
        self.sharded = NamedSharding(self.mesh, P("data"))
        self._chunk_fns = {}
        self._refresh_fn = None
        self._predict_fn = None

    # ---------------------------------------------------------------- model

    def model(self, theta, t_origin=0.0) -> Callable:
        """u: z (d,) -> (n_fields,) for window parameters `theta` (time measured from `t_origin`)."""
        t_axis = self.t_axis

        def u(z):
            if t_axis is not None:
                z = z.at[t_axis].add(-t_origin)
            return self.net.apply(theta, self._embed_static(z))

        return u

    def residual(self, u, z):
        r = self.problem.residual(u, self.problem.params, z)
        if isinstance(r, (list, tuple)):
            return jnp.concatenate([jnp.atleast_1d(x) for x in r])
        return jnp.atleast_1d(r)

    # ---------------------------------------------------------------- sampling

    def _box(self, unit, ta, tb):
        """Map uniform numbers (n, d) in [0, 1) to the space-time box of window [ta, tb]."""
        lo = jnp.asarray([ta if a == "t" else self.problem.domain[a][0] for a in self.axes], self.dtype)
        hi = jnp.asarray([tb if a == "t" else self.problem.domain[a][1] for a in self.axes], self.dtype)
        return lo + (hi - lo) * unit

    def sample(self, key, ta, tb, ic_values) -> dict:
        """One batch: residual points (sharded), initial, boundary and data points.

        All randomness comes from one `jax.random.uniform` draw (one threefry: quick to compile).
        """
        cfg, d = self.cfg, len(self.axes)
        n0 = 0 if self.ic_points is None else self.ic_points.shape[0]
        sizes = [cfg.batch * d, self.n_ic if self.n_ic < n0 else 0, self.n_bc * (d + 1) if self.faces else 0]
        draw = jax.random.uniform(key, (sum(sizes),), self.dtype)
        parts = np.cumsum([0] + sizes)
        res = self._box(draw[:parts[1]].reshape(cfg.batch, d), ta, tb)
        if self.chunks:  # stratify time: equal numbers of points in each causal chunk, chunk-major
            frac = (res[:, self.t_axis] - ta) / (tb - ta)
            chunk = jnp.repeat(jnp.arange(self.chunks), cfg.batch // self.chunks)
            res = res.at[:, self.t_axis].set(ta + (tb - ta) * (chunk + frac) / self.chunks)
        batch = {"res": jax.lax.with_sharding_constraint(res, self.sharded)}
        if self.ic_points is not None:
            if sizes[1] == 0:
                pts, vals = self.ic_points, ic_values
            else:
                idx = jnp.minimum((draw[parts[1]:parts[2]] * n0).astype(jnp.int32), n0 - 1)
                pts, vals = self.ic_points[idx], ic_values[idx]
            tcol = jnp.full((pts.shape[0], 1), ta, self.dtype)
            batch["ic"] = (jnp.concatenate([tcol, pts], axis=1), vals)
        if self.faces:
            block = draw[parts[2]:parts[3]].reshape(self.n_bc, d + 1)
            pts = self._box(block[:, :d], ta, tb)
            face = jnp.minimum((block[:, d] * len(self.faces)).astype(jnp.int32), len(self.faces) - 1)
            axis = jnp.asarray([a for a, _ in self.faces])[face]
            bounds = [(ta, tb) if a == "t" else self.problem.domain[a] for a in self.axes]
            value = jnp.asarray([bounds[a][s] for a, s in self.faces], self.dtype)[face]
            batch["bc"] = jnp.where(jnp.arange(d)[None, :] == axis[:, None], value[:, None], pts)
        return batch

    # ---------------------------------------------------------------- losses

    def loss_blocks(self, batch) -> list:
        """Loss blocks ``[(error(u, point) -> (k,), points, split)]``, in `self.terms` order.

        ``points`` is an array (or tuple of arrays) with one row per point; a ``split`` block gives one
        loss term per error component (residual equations, initial-data fields), any other one term.
        """
        blocks = [(self.residual, batch["res"], True)]
        if "ic" in batch:
            blocks.append((lambda u, p: u(p[0])[self.ic_idx] - p[1], batch["ic"], True))
            if self.problem.initial_rate:
                blocks.append((lambda u, p: partial_d(u, self.t_axis)(p[0])[self.ic_idx], batch["ic"], False))
        if "bc" in batch:
            dirichlet = self.problem.dirichlet
            target = (lambda z: 0.0) if dirichlet is None else (lambda z: jnp.atleast_1d(dirichlet(z)))
            blocks.append((lambda u, z: u(z)[self.bc_idx] - target(z), batch["bc"], False))
        if self.problem.data is not None:
            blocks.append((lambda u, p: (u(p[0])[p[2]] - p[1])[None], self.data, False))
        return blocks

    def term_losses(self, theta, batch, ta):
        """(losses (n_terms,), aux) of the loss terms in `self.terms` order (mean squares of `loss_blocks`)."""
        u = self.model(theta, ta)
        errs = [(jax.vmap(lambda p, f=f: f(u, p))(pts), split) for f, pts, split in self.loss_blocks(batch)]
        r, aux = errs[0][0], {}  # (B, n_eq)
        if self.chunks:
            per_chunk = jnp.mean(r.reshape(self.chunks, -1, r.shape[-1]) ** 2, axis=1)  # (M, n_eq)
            w = causal_weights(jnp.sum(per_chunk, axis=1), self.cfg.causal_eps)
            losses = [jnp.mean(w[:, None] * per_chunk, axis=0)]
            aux["causal_min"] = w[-1]
        else:
            losses = [jnp.mean(r**2, axis=0)]
        losses += [jnp.mean(e**2, axis=0) if split else jnp.mean(e**2)[None] for e, split in errs[1:]]
        return jnp.concatenate(losses), aux

    def ntk_traces(self, theta, batch, ta, max_points: int = NTK_MAX_POINTS):
        """(n_terms,) mean NTK diagonal of each term: mean over its points of |d e(x) / d theta|^2.

        e is the term's per-point error (residual, or prediction minus data) and the gradients are
        per-example (`jax.vmap` of `jax.jacrev` over points); causal weights are left out. The mean,
        not the sum, matches mean-square loss terms (`pinns.optim.ntk_trace` does the same). Blocks
        with more than `max_points` points use an evenly strided subset (memory: points x parameters).
        """
        out = []
        for f, pts, split in self.loss_blocks(batch):
            stride = -(-jax.tree_util.tree_leaves(pts)[0].shape[0] // max_points)
            pts = jax.tree_util.tree_map(lambda a: a[::stride], pts)
            jac = jax.vmap(jax.jacrev(lambda th, p, f=f: f(self.model(th, ta), p)), (None, 0))(theta, pts)
            sq = sum(jnp.sum(g.reshape(g.shape[0], g.shape[1], -1) ** 2, axis=2)
                     for g in jax.tree_util.tree_leaves(jac))  # (N, k)
            out.append(jnp.mean(sq, axis=0) if split else jnp.mean(sq)[None])
        return jnp.concatenate(out)

    def weighted_loss(self, theta, batch, ta, weights):
        losses, aux = self.term_losses(theta, batch, ta)
        return jnp.sum(weights * losses), (losses, aux)

    def term_grads(self, theta, batch, ta):
        """Per-term gradients (one `jax.jacrev` pass): (pytree with leading axis n_terms, losses, aux)."""

        def f(th):
            losses, aux = self.term_losses(th, batch, ta)
            return losses, (losses, aux)

        jac, (losses, aux) = jax.jacrev(f, has_aux=True)(theta)
        return jac, losses, aux

    def gradnorm_update(self, theta, batch, ta, weights):
        """Running-average weights m w + (1 - m) w_new on this batch.

        grad-norm: w_new = `grad_norm_weights` of the per-term gradient norms; ntk: the same ratio
        sum_j tr K_j / tr K_i of the NTK traces (`ntk_traces`; Wang, Yu & Perdikaris 2022).
        """
        if self.cfg.balance == "ntk":
            scale = self.ntk_traces(theta, batch, ta)
        else:
            jac, _, _ = self.term_grads(theta, batch, ta)
            scale = jnp.sqrt(sum(jnp.sum(g.reshape(self.n_terms, -1) ** 2, axis=1)
                                 for g in jax.tree_util.tree_leaves(jac)))
        m = self.cfg.gradnorm_momentum
        return m * weights + (1 - m) * grad_norm_weights(scale).astype(weights.dtype)

    # ---------------------------------------------------------------- state

    def init_carry(self, theta) -> dict:
        """Carry of the step loop for a fresh window starting from `theta`."""
        return {"theta": theta, "opt": self.optimizer.init(theta), "weights": self.base_weights,
                "prev_grad": jax.tree_util.tree_map(jnp.zeros_like, theta)}

    def init_params(self, key):
        init = jax.jit(lambda k: jax.tree_util.tree_map(lambda x: jnp.asarray(x, self.dtype), self.net.init(k)))
        theta = init(key)
        if self.cfg.pi_init and self.cfg.net.arch == "pirate" and not self.cfg.separate_nets \
                and self.problem.initial is not None:
            theta = self._pi_init(theta, jax.random.fold_in(key, 1))
        return theta

    def _pi_init(self, theta, key, max_rows: int = 4096):
        """Least-squares fit of the output layer to u(t, x) = u0(x) over the first window (PirateNet)."""
        ta, tb = self.window_bounds[0]
        n0 = self.ic_points.shape[0]
        n_t = max(1, min(16, max_rows // n0))
        n_x = min(n0, max_rows // n_t)
        idx = np.asarray(jax.random.choice(key, n0, (n_x,), replace=False)) if n_x < n0 else np.arange(n0)
        ts = np.linspace(ta, tb, n_t)
        pts = np.concatenate([np.concatenate([np.full((n_x, 1), t), np.asarray(self.ic_points)[idx]], 1) for t in ts])
        target = np.tile(np.asarray(self.initial_values)[idx], (n_t, 1))
        feats = jax.jit(jax.vmap(lambda th, z: pirate_features(th, self._embed_static(z.at[self.t_axis].add(-ta))),
                                 (None, 0)))(theta, jnp.asarray(pts, self.dtype))
        a = np.concatenate([np.asarray(feats, np.float64), np.ones((len(pts), 1))], axis=1)
        coef = np.linalg.lstsq(a, target.astype(np.float64), rcond=None)[0]
        out = theta["out"]
        w_now = np.asarray(out["w"] if "w" in out else out["v"] * jnp.exp(out["s"]), np.float64)
        b_now = np.asarray(out["b"], np.float64)
        w_now[:, self.ic_idx], b_now[self.ic_idx] = coef[:-1], coef[-1]
        return set_output_layer(theta, w_now, b_now)

    # ---------------------------------------------------------------- steps

    def _batch(self, step, base_key, ta, tb, ic_values):
        key = jax.random.fold_in(base_key, 0 if self.cfg.fixed_points else step)
        return self.sample(key, ta, tb, ic_values)

    def _step(self, carry, step, base_key, ta, tb, ic_values):
        batch = self._batch(step, base_key, ta, tb, ic_values)
        theta, weights = carry["theta"], carry["weights"]
        if self.per_term:
            jac, losses, aux = self.term_grads(theta, batch, ta)
            grads = [jax.tree_util.tree_map(lambda g, i=i: weights[i] * g[i], jac) for i in range(self.n_terms)]
            extra = {"losses": losses} if self.needs_losses else {}
            updates, opt = self.optimizer.update(grads, carry["opt"], theta, **extra)
            grad = jax.tree_util.tree_map(lambda *g: sum(g), *grads)
            loss = jnp.sum(weights * losses)
        else:
            (loss, (losses, aux)), grad = jax.value_and_grad(self.weighted_loss, has_aux=True)(
                theta, batch, ta, weights)
            updates, opt = self.optimizer.update(grad, carry["opt"], theta)
        theta = optax.apply_updates(theta, updates)
        inter = alignment_score(jnp.stack([_flat(carry["prev_grad"]), _flat(grad)]))
        out = {"loss": loss, "terms": losses, "weights": weights, "inter_alignment": inter,
               "causal_min": aux.get("causal_min", jnp.ones((), self.dtype))}
        return {"theta": theta, "opt": opt, "weights": weights, "prev_grad": grad}, out

    def chunk_fn(self, n: int):
        """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, per-step metrics) of `n` steps."""
        if n not in self._chunk_fns:
            def run(carry, start, base_key, ta, tb, ic_values):
                steps = start + jnp.arange(n, dtype=jnp.int32)
                body = lambda c, s: self._step(c, s, base_key, ta, tb, ic_values)  # noqa: E731
                return jax.lax.scan(body, carry, steps)

            self._chunk_fns[n] = jax.jit(run)
        return self._chunk_fns[n]

    def refresh_weights(self, carry, step, base_key, ta, tb, ic_values):
        """Grad-norm update of ``carry["weights"]`` on the batch of `step` (jit; run before that step)."""
        if self._refresh_fn is None:
            def refresh(carry, step, base_key, ta, tb, ic_values):
                batch = self._batch(step, base_key, ta, tb, ic_values)
                return {**carry, "weights": self.gradnorm_update(carry["theta"], batch, ta, carry["weights"])}

            self._refresh_fn = jax.jit(refresh)
        return self._refresh_fn(carry, step, base_key, ta, tb, ic_values)

    def intra_alignment(self, theta, key, ta, tb, ic_values):
        """Alignment score of the per-term gradients on one batch (SOAP-PINN eq. 3, intra-step)."""
        if not hasattr(self, "_intra_fn"):
            def f(theta, key, ta, tb, ic):
                jac, _, _ = self.term_grads(theta, self.sample(key, ta, tb, ic), ta)
                leaves = jax.tree_util.tree_leaves(jac)
                return alignment_score(jnp.concatenate([g.reshape(self.n_terms, -1) for g in leaves], axis=1))

            self._intra_fn = jax.jit(f)
        return self._intra_fn(theta, key, ta, tb, ic_values)

    # ---------------------------------------------------------------- prediction

    def predict(self, thetas: list, points, derived: bool = True, chunk: int = 8192) -> dict:
        """Fields (and derived fields) at `points` (N, d), each window's network on its own times.

        Args:
            thetas: parameters of the trained windows (window k covers (t_k, t_{k+1}]; the first
                also t_0); points later than the last given window use the last window.
        Returns:
            name -> (N,) numpy arrays.
        """
        if self._predict_fn is None:
            names = list(self.problem.fields)
            extra = list(self.problem.derived.items()) if derived else []

            def f(theta, ta, z):
                u = self.model(theta, ta)
                out = [u(z)] + [jnp.atleast_1d(fn(u, z)) for _, fn in extra]
                return jnp.concatenate(out)

            self._predict_fn = (jax.jit(jax.vmap(f, (None, None, 0))), names + [n for n, _ in extra])
        fn, names = self._predict_fn
        points = np.asarray(points, dtype=np.float64)
        n = len(points)
        window = self.window_of(points, len(thetas))
        out = np.zeros((n, len(names)))
        for k, theta in enumerate(thetas):
            sel = np.nonzero(window == k)[0]
            ta = self.window_bounds[k][0]
            for start in range(0, len(sel), chunk):
                idx = sel[start:start + chunk]
                z = np.zeros((chunk, points.shape[1]))
                z[:len(idx)] = points[idx]
                z[len(idx):] = points[idx[0]] if len(idx) else 0
                out[idx] = np.asarray(fn(theta, ta, jnp.asarray(z, self.dtype)))[:len(idx)]
        return {name: out[:, i] for i, name in enumerate(names)}

    def window_of(self, points, n_windows: int | None = None) -> np.ndarray:
        """Window index of each point (shared end times belong to the earlier window)."""
        n_windows = n_windows or self.cfg.windows
        if self.t_axis is None:
            return np.zeros(len(points), dtype=int)
        t0, t1 = self.problem.domain["t"]
        h = (t1 - t0) / self.cfg.windows
        k = np.ceil((np.asarray(points)[:, self.t_axis] - t0) / h - 1e-9).astype(int) - 1
        return np.clip(k, 0, n_windows - 1)


# ----------------------------------------------------------------------------- metrics


def errors(pred: dict, ref: dict, names) -> dict:
    """{"rel_l2": {...}, "mse": {...}, "linf": {...}} per field over all points."""
    out = {"rel_l2": {}, "mse": {}, "linf": {}}
    for name in names:
        p, r = np.asarray(pred[name]).ravel(), np.asarray(ref[name]).ravel()
        diff = p - r
        out["rel_l2"][name] = float(np.linalg.norm(diff) / max(np.linalg.norm(r), 1e-300))
        out["mse"][name] = float(np.mean(diff**2))
        out["linf"][name] = float(np.max(np.abs(diff)))
    return out


def compared_fields(problem: Problem) -> list:
    """Reference fields the network predicts (outputs or derived), metric fields first."""
    have = set(problem.fields) | set(problem.derived)
    names = [f for f in problem.metric_fields if f in have and f in problem.reference.fields]
    return names + [f for f in problem.reference.fields if f in have and f not in names]


def evaluation_points(problem: Problem, max_points: int, t_max: float | None = None):
    """(points, reference fields) on the reference grid, subsampled to at most `max_points`, t <= t_max."""
    ref = problem.reference
    pts = ref.points()
    names = compared_fields(problem)
    vals = {k: np.asarray(ref.fields[k]).ravel() for k in names}
    keep = np.ones(len(pts), bool)
    if t_max is not None and "t" in problem.axes:
        keep &= pts[:, problem.axes.index("t")] <= t_max + 1e-12
    idx = np.nonzero(keep)[0]
    if max_points and len(idx) > max_points:
        idx = idx[np.linspace(0, len(idx) - 1, max_points).astype(int)]
    return pts[idx], {k: v[idx] for k, v in vals.items()}


# ----------------------------------------------------------------------------- the run


@dataclass
class RunState:
    """Host-side state of a run: global step, current window, the step carry, finished windows."""

    step: int
    window: int
    carry: dict
    ic_values: object
    done: list

    def tree(self) -> dict:
        return {"carry": self.carry, "ic": self.ic_values if self.ic_values is not None else jnp.zeros(0),
                "done": self.done}


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.generic, np.ndarray)) or hasattr(x, "dtype"):
        x = np.asarray(x)
        return x.item() if x.ndim == 0 else x.tolist()
    return x


class Run:
    """A training run in a folder: config.json, metrics.jsonl, checkpoint.npz, prediction.png.

    Args:
        out_dir: run folder.
        problem, cfg: what to train.
        devices: mesh devices (default all).
        trainer: reuse a `Trainer` of the same problem and config (its compiled steps).
    """

    def __init__(self, out_dir, problem: Problem, cfg: TrainConfig, devices=None, trainer: Trainer | None = None):
        self.dir = pathlib.Path(out_dir)
        self.problem, self.cfg = problem, cfg
        self.trainer = trainer if trainer is not None else Trainer(problem, cfg, devices)
        self.base_key = jax.random.PRNGKey(cfg.seed)
        self.eval_pts, self.eval_ref = evaluation_points(problem, cfg.eval_points)
        self.total_steps = cfg.steps * cfg.windows

    # -------------------------------------------------------------- state

    def fresh_state(self) -> RunState:
        tr = self.trainer
        theta = tr.init_params(jax.random.fold_in(self.base_key, 0))
        return RunState(0, 0, self._place(tr.init_carry(theta)), tr.initial_values, [])

    def _place(self, tree):
        return jax.device_put(tree, self.trainer.replicated)

    def save(self, state: RunState) -> None:
        ckpt.save(self.dir / CHECKPOINT_FILE, state.tree(), step=state.step, window=state.window,
                  problem=self.problem.name, version=1)

    def restore(self) -> RunState:
        path = self.dir / CHECKPOINT_FILE
        meta = ckpt.read_meta(path)
        if meta.get("problem") != self.problem.name:
            raise ckpt.CheckpointError(f"checkpoint {path} is for {meta.get('problem')!r}, not {self.problem.name!r}")
        fresh = self.fresh_state()
        n_done = int(meta["window"])
        template = {"carry": fresh.carry, "ic": fresh.ic_values if fresh.ic_values is not None else jnp.zeros(0),
                    "done": [fresh.carry["theta"]] * n_done}
        tree, meta = ckpt.load(path, template)
        ic = None if fresh.ic_values is None else jnp.asarray(tree["ic"])
        return RunState(int(meta["step"]), n_done, self._place(tree["carry"]), ic,
                        [self._place(t) for t in tree["done"]])

    # -------------------------------------------------------------- loop

    def log_metrics(self, state: RunState, out: dict, wall: float, rate: float) -> dict:
        tr, last = self.trainer, {k: np.asarray(v)[-1] for k, v in out.items()}
        ta, tb = tr.window_bounds[state.window]
        thetas = state.done + [state.carry["theta"]]
        pts, ref = self.eval_pts, self.eval_ref
        if tr.t_axis is not None:
            keep = pts[:, tr.t_axis] <= tb + 1e-12
            pts, ref = pts[keep], {k: v[keep] for k, v in ref.items()}
        err = errors(tr.predict(thetas, pts), ref, list(ref)) if len(pts) else {"rel_l2": {}, "mse": {}}
        intra = float("nan")
        if self.cfg.log_alignment:
            key = jax.random.fold_in(jax.random.fold_in(self.base_key, 2), state.step)
            intra = tr.intra_alignment(state.carry["theta"], key, ta, tb,
                                       state.ic_values if state.ic_values is not None else jnp.zeros(0))
        local = state.step - state.window * self.cfg.steps
        record = {"step": state.step, "window": state.window, "loss": float(last["loss"]),
                  **{t: float(v) for t, v in zip(tr.terms, last["terms"])},
                  "weights": {t: float(v) for t, v in zip(tr.terms, last["weights"])},
                  "causal_min_weight": float(last["causal_min"]), "lr": float(tr.schedule(local - 1)),
                  "alignment_intra": float(intra) if self.cfg.log_alignment else None, "alignment_inter": float(last["inter_alignment"]),
                  "rel_l2": err["rel_l2"], "mse": err["mse"], "wall_s": round(wall, 3), "steps_per_s": round(rate, 2)}
        with open(self.dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(_jsonable(record)) + "\n")
        return record

    def next_window(self, state: RunState) -> RunState:
        """Finish window k: its end prediction becomes window k+1's initial data."""
        tr = self.trainer
        theta = state.carry["theta"]
        ic = state.ic_values
        if ic is not None:
            tb = tr.window_bounds[state.window][1]
            pts = np.concatenate([np.full((tr.ic_points.shape[0], 1), tb), np.asarray(tr.ic_points)], axis=1)
            pred = tr.predict([theta], pts, derived=False, chunk=min(8192, len(pts)))
            ic = jnp.asarray(np.stack([pred[f] for f in self.problem.ic_fields], axis=-1), tr.dtype)
        return RunState(state.step, state.window + 1, self._place(tr.init_carry(theta)), ic, state.done + [theta])

    def train(self, state: RunState, progress: bool = True, on_record: Callable | None = None,
              until: int | None = None) -> RunState:
        """Run from `state` to `cfg.steps * cfg.windows` steps (or `until`); returns the final state.

        Raises:
            TrainingError: a non-finite loss (the last good checkpoint is kept).
            KeyboardInterrupt: after saving the last completed chunk.
        """
        from tqdm.auto import tqdm

        cfg, tr = self.cfg, self.trainer
        bar = tqdm(total=self.total_steps, initial=state.step, disable=not progress, unit="step",
                   dynamic_ncols=True, desc=self.problem.name)
        wall0 = time.perf_counter() - self._previous_wall()
        until = min(until or self.total_steps, self.total_steps)
        try:
            while state.step < until:
                if state.step >= (state.window + 1) * cfg.steps:
                    state = self.next_window(state)
                    self.save(state)
                window_start, window_end = state.window * cfg.steps, (state.window + 1) * cfg.steps
                local = state.step - window_start
                # chunk ends are fixed multiples (log_every, gradnorm_every in the window, window end),
                # so a resumed run executes exactly the chunks of an uninterrupted one
                end = min(window_end, (state.step // cfg.log_every + 1) * cfg.log_every, until)
                if tr.gradnorm:
                    end = min(end, window_start + (local // cfg.gradnorm_every + 1) * cfg.gradnorm_every)
                n = end - state.step
                ta, tb = tr.window_bounds[state.window]
                ic = state.ic_values if state.ic_values is not None else jnp.zeros(0)
                key = jax.random.fold_in(self.base_key, 1)
                t_chunk = time.perf_counter()
                carry = state.carry
                if tr.gradnorm and local % cfg.gradnorm_every == 0:
                    carry = tr.refresh_weights(carry, jnp.int32(state.step), key, ta, tb, ic)
                carry, out = tr.chunk_fn(n)(carry, jnp.int32(state.step), key, ta, tb, ic)
                losses = np.asarray(out["loss"])
                rate = n / max(time.perf_counter() - t_chunk, 1e-9)
                if not np.all(np.isfinite(losses)):
                    bad = int(np.argmin(np.isfinite(losses)))
                    terms = np.asarray(out["terms"])[bad]
                    detail = ", ".join(f"{t}={v:.3g}" for t, v in zip(tr.terms, terms))
                    raise TrainingError(f"loss became non-finite at step {state.step + bad + 1} ({detail}); "
                                        f"stopped, last checkpoint kept at step {self._saved_step()}")
                state = RunState(end, state.window, carry, state.ic_values, state.done)
                bar.update(n)
                if end % cfg.log_every == 0 or end in (window_end, until):
                    record = self.log_metrics(state, out, time.perf_counter() - wall0, rate)
                    if on_record:
                        on_record(record)
                    bar.set_postfix(loss=f"{record['loss']:.3e}",
                                    rel_l2=",".join(f"{v:.2e}" for v in record["rel_l2"].values()))
                if end % cfg.ckpt_every == 0 or end == window_end:
                    self.save(state)
        except KeyboardInterrupt:
            self.save(state)
            raise
        finally:
            bar.close()
        self.save(state)
        return state

    def _saved_step(self) -> int:
        try:
            return int(ckpt.read_meta(self.dir / CHECKPOINT_FILE)["step"])
        except ckpt.CheckpointError:
            return 0

    def _previous_wall(self) -> float:
        """wall_s of the last metrics line (resumed runs keep counting)."""
        path = self.dir / METRICS_FILE
        if not path.exists():
            return 0.0
        lines = path.read_text().strip().splitlines()
        return float(json.loads(lines[-1])["wall_s"]) if lines else 0.0

    def truncate_metrics(self, step: int) -> None:
        """Drop metrics lines after `step` (written after the checkpoint a resumed run starts from)."""
        path = self.dir / METRICS_FILE
        if path.exists():
            keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
            path.write_text("".join(line + "\n" for line in keep))

    def thetas(self, state: RunState) -> list:
        return state.done + [state.carry["theta"]]


# ----------------------------------------------------------------------------- entry points


def load_problem(name: str, data) -> Problem:
    """The problem `name` with its dataset (None for exact problems)."""
    return get_problem(name, data if data else None)


def train(name: str, out_dir, data=None, preset: str = "paper", resume: bool = False, progress: bool = True,
          devices=None, **overrides) -> dict:
    """Train problem `name` into run folder `out_dir`; returns the final evaluation (see `pinns.eval`).

    Args:
        name: problem name (`pinns.problems.PROBLEMS`).
        out_dir: run folder (created; must not hold a checkpoint unless `resume`).
        data: dataset folder or file (None for exact problems).
        preset: "paper" or "quick".
        resume: continue the checkpoint in `out_dir` with its saved configuration (`steps` may be
            raised through `overrides`).
        **overrides: TrainConfig fields (optimizer, balance, steps, seed, batch, ...).
    """
    from .eval import evaluate_run, plot_run

    out = pathlib.Path(out_dir)
    if resume:
        cfg_path = out / CONFIG_FILE
        if not cfg_path.is_file():
            raise FileNotFoundError(f"nothing to resume: {cfg_path} does not exist")
        saved = json.loads(cfg_path.read_text())
        if saved["problem"] != name:
            raise ValueError(f"{out} is a run of {saved['problem']!r}, not {name!r}")
        problem = load_problem(name, saved["data"] or None)
        allowed = {"steps"}
        changed = {k: v for k, v in overrides.items() if v is not None and k not in allowed and saved.get(k) != v}
        if changed:
            raise ValueError(f"--resume keeps the saved configuration; cannot change {', '.join(sorted(changed))}")
        saved.update({k: v for k, v in overrides.items() if k in allowed and v is not None})
        cfg = TrainConfig.from_dict(saved)
        validate(cfg, problem)
    else:
        problem = load_problem(name, data)
        cfg = make_config(problem, preset, data=str(data) if data else "", **overrides)
        if (out / CHECKPOINT_FILE).exists():
            raise FileExistsError(f"{out} already holds a run (use --resume, or another --out)")
    out.mkdir(parents=True, exist_ok=True)
    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    run = Run(out, problem, cfg, devices)
    if resume:
        state = run.restore()
        run.truncate_metrics(state.step)
    else:
        (out / METRICS_FILE).unlink(missing_ok=True)
        state = run.fresh_state()
    (out / CONFIG_FILE).write_text(json.dumps(cfg.to_dict(), indent=1) + "\n")
    state = run.train(state, progress=progress)
    result = evaluate_run(run, state)
    plot_run(run, state, out / "prediction.png")
    return result


__all__ = ["BALANCES", "OPTIMIZERS", "Run", "RunState", "TrainConfig", "Trainer", "TrainingError", "alignment_score",
           "causal_weights", "errors", "grad_norm_weights", "make_config", "make_optimizer", "make_schedule", "train"]
