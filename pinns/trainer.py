"""The PINN of one (problem, config): network, sampling, loss terms, weights and prediction.

Per step (see `pinns.step`): draw random collocation points (residual points stratified in
`causal_chunks` time chunks; initial-condition points from the initial data; boundary points on
the Dirichlet faces), evaluate the loss terms (mean squares; derivatives by forward-mode
`jax.jvp`, `jax.vmap` over points) and combine them with the current weights.

Techniques (SOAP-PINN appendix F):

* grad-norm weights: every `gradnorm_every` steps lambda_i <- m lambda_i + (1 - m) sum_j |g_j| / |g_i|
  with the per-term gradients g_i of one `jax.jacrev` pass (`pinns.optim.grad_norm_weights`,
  applied through `pinns.optim.refresh_weights`);
* causal weights: L_r = (1/M) sum_i w_i L_r^i, w_i = exp(-eps sum_{k<i} L_r^k), stop-gradient
  (`causal_weights`);
* time marching: `windows` windows of `steps` steps; window k's network sees window-local time
  t - t_k (`model`), `predict` uses each window's network on its own times.

Data parallel: a `jax.sharding.Mesh` over `jax.devices()`; the residual batch is sharded along
its points, parameters and optimizer state are replicated; the same code runs on 1 or N devices.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from . import optim
from . import step as steps
from .config import TrainConfig, validate
from .nets import embedding, make_net, pirate_features, set_output_layer, stack_nets
from .problems import Problem
from .constraints import constrained_model, constrained_terms, periodic_kink
from .problems._base import d as partial_d
from .recipes import TRAINER_BALANCES, make_phases, make_schedule

NTK_MAX_POINTS = 2048
"""At most this many points per loss block enter the NTK traces (per-example gradients: points x parameters)."""


def causal_weights(chunk_losses, eps: float):
    """w_i = exp(-eps sum_{k<i} L^k) for chunk losses L: (M,), no gradient through w."""
    prefix = jnp.cumsum(chunk_losses) - chunk_losses
    return jax.lax.stop_gradient(jnp.exp(-eps * prefix))



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
        self.hard = cfg.hard_constraints
        self.terms = constrained_terms(problem) if self.hard else problem.terms
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
        self.kink = periodic_kink(problem) if self.hard else None  # u0's slope jump across the periodic boundary
        kinks = {self.axes[self.kink.axis]: self.kink.lo} if self.kink else None
        self._embed_static, in_dim = embedding(self.axes, periods, kinks=kinks)
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
        self.faces = [] if self.hard else [(self.axes.index(a), side) for a, side in problem.faces]
        self.sample_ic = self.ic_points is not None and not self.hard

        self.phases = make_phases(cfg, self.n_terms)
        first = self.phases[0]
        self.optimizer, self.per_term, self.needs_losses = first.optimizer, first.per_term, first.needs_losses
        self.rba = cfg.balance == "rba"
        self.schedule = make_schedule(cfg)
        self.gradnorm = cfg.balance in TRAINER_BALANCES[:2] and not self.per_term  # weights refreshed between chunks

        devices = list(devices if devices is not None else jax.devices())
        self.mesh = Mesh(np.array(devices), ("data",))
        self.replicated = NamedSharding(self.mesh, P())
        self.sharded = NamedSharding(self.mesh, P("data"))
        self._chunk_fns = {}
        self._refresh_fn = None
        self._resample_fns = {}
        self._predict_fn = None

    # ---------------------------------------------------------------- model

    def model(self, theta, t_origin=0.0) -> Callable:
        """u: z (d,) -> (n_fields,) for window parameters `theta` (time measured from `t_origin`)."""
        t_axis = self.t_axis

        def u(z):
            if t_axis is not None:
                z = z.at[t_axis].add(-t_origin)
            return self.net.apply(theta, self._embed_static(z))

        return constrained_model(self.problem, u, kink=self.kink) if self.hard else u

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
        n0 = self.ic_points.shape[0] if self.sample_ic else 0
        sizes = [cfg.batch * d, self.n_ic if self.n_ic < n0 else 0, self.n_bc * (d + 1) if self.faces else 0]
        draw = jax.random.uniform(key, (sum(sizes),), self.dtype)
        parts = np.cumsum([0] + sizes)
        res = self._box(draw[:parts[1]].reshape(cfg.batch, d), ta, tb)
        if self.chunks:  # stratify time: equal numbers of points in each causal chunk, chunk-major
            frac = (res[:, self.t_axis] - ta) / (tb - ta)
            chunk = jnp.repeat(jnp.arange(self.chunks), cfg.batch // self.chunks)
            res = res.at[:, self.t_axis].set(ta + (tb - ta) * (chunk + frac) / self.chunks)
        batch = {"res": jax.lax.with_sharding_constraint(res, self.sharded)}
        if self.sample_ic:
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

    def term_losses(self, theta, batch, ta, rba=None):
        """(losses (n_terms,), aux) of the loss terms in `self.terms` order (mean squares of `loss_blocks`).

        `rba`: (B,) per-point weights of the residual points (RBA); then ``aux["residual"]`` holds the
        unweighted residuals (B, n_eq) without gradient.
        """
        errs = self.block_errors(theta, batch, ta)
        r, aux = errs[0][0], {}  # (B, n_eq)
        if rba is not None:
            aux["residual"] = jax.lax.stop_gradient(r)
            r = rba[:, None] * r
        if self.chunks:
            per_chunk = jnp.mean(r.reshape(self.chunks, -1, r.shape[-1]) ** 2, axis=1)  # (M, n_eq)
            w = causal_weights(jnp.sum(per_chunk, axis=1), self.cfg.causal_eps)
            losses = [jnp.mean(w[:, None] * per_chunk, axis=0)]
            aux["causal_min"] = w[-1]
        else:
            losses = [jnp.mean(r**2, axis=0)]
        losses += [jnp.mean(e**2, axis=0) if split else jnp.mean(e**2)[None] for e, split in errs[1:]]
        return jnp.concatenate(losses), aux

    def block_errors(self, theta, batch, ta) -> list:
        """[(errors (n_points, k), split)] of every loss block (`loss_blocks`) at `theta`: the residuals that
        `term_losses` squares and averages, and that `pinns.residuals.residual_vector` scales into one vector."""
        u = self.model(theta, ta)
        return [(jax.vmap(lambda p, f=f: f(u, p))(pts), split) for f, pts, split in self.loss_blocks(batch)]

    def ntk_traces(self, theta, batch, ta, max_points: int = NTK_MAX_POINTS):
        """(n_terms,) mean NTK diagonal of each term: mean over its points of |d e(x) / d theta|^2.

        e is the term's per-point error (residual, or prediction minus data) and the gradients are
        per-example (`jax.vmap` of `jax.jacrev` over points); causal weights are left out. The mean,
        not the sum, matches mean-square loss terms (`pinns.optim.ntk_trace` computes each block). Blocks
        with more than `max_points` points use an evenly strided subset (memory: points x parameters).
        """
        out = []
        for f, pts, split in self.loss_blocks(batch):
            stride = -(-jax.tree_util.tree_leaves(pts)[0].shape[0] // max_points)
            pts = jax.tree_util.tree_map(lambda a: a[::stride], pts)
            trace = optim.ntk_trace(lambda th, p, f=f: f(self.model(th, ta), p), theta, pts, per_output=split)
            out.append(trace if split else trace[None])
        return jnp.concatenate(out)

    def weighted_loss(self, theta, batch, ta, weights, rba=None):
        losses, aux = self.term_losses(theta, batch, ta, rba)
        return jnp.sum(weights * losses), (losses, aux)

    def term_grads(self, theta, batch, ta, rba=None):
        """Per-term gradients (one `jax.jacrev` pass): (pytree with leading axis n_terms, losses, aux)."""
        if rba is None:
            return optim.term_jacobian(self.term_losses, theta, batch, ta, has_aux=True)
        return optim.term_jacobian(self.term_losses, theta, batch, ta, rba, has_aux=True)

    def block_losses(self, batch, ta) -> list:
        """One function ``f(theta) -> (losses (k,), aux)`` per loss block, in term order.

        Concatenated, their losses are `term_losses` (tests/pinns/test_autobalance_speed.py checks that
        they agree bit for bit); kept separate so each block can be differentiated on its own.
        """
        def block_fn(i, f, pts, split):
            def loss(theta):
                e = jax.vmap(lambda p: f(self.model(theta, ta), p))(pts)
                if i == 0 and self.chunks:
                    per_chunk = jnp.mean(e.reshape(self.chunks, -1, e.shape[-1]) ** 2, axis=1)
                    w = causal_weights(jnp.sum(per_chunk, axis=1), self.cfg.causal_eps)
                    return jnp.mean(w[:, None] * per_chunk, axis=0), {"causal_min": w[-1]}
                if i == 0 or split:
                    return jnp.mean(e**2, axis=0), {}
                return jnp.mean(e**2)[None], {}
            return loss

        return [block_fn(i, *blk) for i, blk in enumerate(self.loss_blocks(batch))]

    def per_term_grads(self, theta, batch, ta):
        """(list of n_terms gradient pytrees, losses (n_terms,), aux) for the per-term optimizers
        (AutoBalance and the `pinns.optim.BALANCERS` baselines).

        Each loss block is differentiated on its own (`pinns.optim.block_term_grads`): 1.4-2x faster
        than the rows of one `jax.jacrev` of the loss vector (`term_grads`), whose reverse pass carries
        every term's cotangent through every block; the two agree up to the summation order (8e-7
        relative in float32, 3e-15 in float64; tests/pinns/test_autobalance_full.py).
        """
        grads, losses, auxes = optim.block_term_grads([lambda th, f=f: f(th) for f in self.block_losses(batch, ta)],
                                                      theta)
        return grads, losses, auxes[0]

    def gradnorm_update(self, theta, batch, ta, weights):
        """Running-average weights m w + (1 - m) w_new on this batch.

        The rule is `pinns.optim.RULES[balance]` run through `pinns.optim.refresh_weights` (the hook
        the `pinns.optim.balance` wrapper uses too): grad-norm: w_new = `pinns.optim.grad_norm_weights`
        of the per-term gradient norms; ntk: the same ratio sum_j tr K_j / tr K_i of the NTK traces
        (`ntk_traces`; Wang, Yu & Perdikaris 2022).
        """
        count = jnp.zeros((), jnp.int32)
        if self.cfg.balance == "ntk":
            inputs = optim.RuleInputs(None, None, weights, self.ntk_traces(theta, batch, ta), count)
        else:
            jac, _, _ = self.term_grads(theta, batch, ta)
            inputs = optim.RuleInputs(None, None, weights, None, count, norms=optim.jacobian_norms(jac))
        return optim.refresh_weights(self.cfg.balance, weights, inputs, self.cfg.gradnorm_momentum)

    # ---------------------------------------------------------------- state

    def init_carry(self, theta) -> dict:
        """Carry of the step loop for a fresh window starting from `theta`."""
        carry = {"theta": theta, "opt": self.optimizer.init(theta), "weights": self.base_weights,
                 "prev_grad": jax.tree_util.tree_map(jnp.zeros_like, theta)}
        if self.rba:
            carry["rba"] = jnp.ones(self.cfg.batch, self.dtype)
        return carry

    def init_params(self, key):
        init = jax.jit(lambda k: jax.tree_util.tree_map(lambda x: jnp.asarray(x, self.dtype), self.net.init(k)))
        theta = init(key)
        if self.cfg.pi_init and self.cfg.net.arch == "pirate" and not self.cfg.separate_nets \
                and self.problem.initial is not None and not self.hard:
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
        every = max(self.cfg.resample_every, 1)
        key = jax.random.fold_in(base_key, 0 if self.cfg.fixed_points else (step if every == 1 else step // every))
        return self.sample(key, ta, tb, ic_values)

    def chunk_fn(self, n: int, phase: int = 0):
        """jit: (carry, start, base_key, ta, tb, ic_values) -> (carry, per-step metrics) of `n` steps of `phase`."""
        if (n, phase) not in self._chunk_fns:
            ph = self.phases[phase]
            make = steps.make_gn_chunk if ph.gauss_newton else steps.make_qn_chunk if ph.quasi_newton \
                else steps.make_chunk
            self._chunk_fns[n, phase] = make(self, n, self.phases[phase])
        return self._chunk_fns[n, phase]

    def phase_at(self, local_step: int) -> int:
        """Index of the phase that runs step `local_step` of a window (the last phase once all are done)."""
        return next((i for i, ph in enumerate(self.phases) if local_step < ph.end), len(self.phases) - 1)

    def draw_points(self, theta, k, base_key, ta, tb, ic_values) -> dict:
        """Batch number `k` of a run that keeps its points (`resample_every`): `sample` of its own key, the
        residual points redrawn by RAD from the network `theta` for k > 0 when ``sampling == "rad"``."""
        key = jax.random.fold_in(base_key, k)  # batch k of a run that draws every step would be fold_in(base_key, step)
        batch = self.sample(key, ta, tb, ic_values)
        if self.cfg.sampling != "rad":
            return batch
        n, d = self.cfg.batch, len(self.axes)
        cand = self._box(jax.random.uniform(jax.random.fold_in(key, 1), (4 * n, d), self.dtype), ta, tb)
        u = self.model(theta, ta)
        r = jnp.linalg.norm(jax.vmap(lambda z: self.residual(u, z))(cand), axis=1)
        p = jnp.where(k > 0, r / jnp.mean(r) + 1.0, 1.0)
        idx = jax.random.choice(jax.random.fold_in(key, 2), 4 * n, (n,), replace=False, p=p / jnp.sum(p))
        res = jnp.where(k > 0, cand[idx], batch["res"])
        return {**batch, "res": jax.lax.with_sharding_constraint(res, self.sharded)}

    def resample(self, carry, step, base_key, ta, tb, ic_values, phase: int = 0) -> dict:
        """(jit) `carry` with the batch of `step` (a multiple of `resample_every`) drawn, the RBA weights
        back at 1 (a weight belongs to a point) and, in a quasi-Newton phase, no (s, y) pair formed across
        the two batches (`pinns.optim.restart_pairs`: the inverse Hessian is kept)."""
        if phase not in self._resample_fns:
            qn, gn = self.phases[phase].quasi_newton, self.phases[phase].gauss_newton

            def fn(carry, step, base_key, ta, tb, ic_values):
                k = step // self.cfg.resample_every
                out = {**carry, "batch": self.draw_points(carry["theta"], k, base_key, ta, tb, ic_values)}
                if self.rba:
                    out["rba"] = jnp.ones(self.cfg.batch, self.dtype)
                if qn:
                    out["opt"] = optim.restart_pairs(carry["opt"])
                if gn:
                    out["opt"] = optim.restart_damping(carry["opt"])
                return out

            self._resample_fns[phase] = jax.jit(fn)
        return self._resample_fns[phase](carry, step, base_key, ta, tb, ic_values)

    def refresh_weights(self, carry, step, base_key, ta, tb, ic_values):
        """Grad-norm update of ``carry["weights"]`` on the batch of `step` (jit; run before that step)."""
        if self._refresh_fn is None:
            self._refresh_fn = steps.make_refresh(self)
        return self._refresh_fn(carry, step, base_key, ta, tb, ic_values)

    def intra_alignment(self, theta, key, ta, tb, ic_values):
        """Alignment score of the per-term gradients on one batch (SOAP-PINN eq. 3, intra-step)."""
        if not hasattr(self, "_intra_fn"):
            def f(theta, key, ta, tb, ic):
                jac, _, _ = self.term_grads(theta, self.sample(key, ta, tb, ic), ta)
                leaves = jax.tree_util.tree_leaves(jac)
                return optim.alignment_score(jnp.concatenate([g.reshape(self.n_terms, -1) for g in leaves], axis=1))

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


__all__ = ["NTK_MAX_POINTS", "Trainer", "causal_weights"]
