"""Coordinate networks as pure functions of a params pytree (plain JAX, no module library).

A network is ``Net(init, apply)``: ``init(key) -> params`` and ``apply(params, z) -> out`` for ONE
point ``z: (in_dim,)`` giving ``out: (out_dim,)``; vmap it over points and differentiate it with
`jax.jvp`. Params are nested dicts/lists of arrays, so any optax transformation (SOAP included)
sees 2-D weight matrices as matrices.

Architectures (SOAP-PINN paper, appendix F; Wang et al. 2023/2024):

* ``mlp``: Dense -> act, ``depth`` hidden layers, linear output.
* ``modified_mlp``: gates U = act(W_u x), V = act(W_v x); each hidden layer h = act(W h),
  h <- h * U + (1 - h) * V.
* ``pirate`` (PirateNet): random Fourier features Phi = [cos(B x), sin(B x)], B ~ N(0, s^2);
  gates U = act(W_1 Phi + b_1), V = act(W_2 Phi + b_2); ``depth`` blocks of three dense layers
  f = act(W x + b); f <- f * U + (1 - f) * V (after the first two), and an adaptive residual
  x <- alpha * f + (1 - alpha) * x with alpha initialised to 0, so the untrained network is
  ``W_out Phi + b_out``: linear in the embedding.

Every dense layer can use random weight factorisation (RWF, Wang et al. 2022):
W = V * exp(s) column-wise (``diag(exp(s)) V`` in the paper's row convention), s ~ N(mu, sigma),
V = Glorot / exp(s) so the initial W is the Glorot draw.

Exact periodic embeddings (Dong & Ni 2021) are built by `embedding`: a periodic coordinate x of
period P becomes (cos wx, sin wx), w = 2 pi / P; the others pass through (time is concatenated).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.special

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "swish": jax.nn.swish,
    "gelu": jax.nn.gelu,
    "sin": jnp.sin,
    "relu": jax.nn.relu,
}


@dataclass(frozen=True)
class NetConfig:
    """Network hyper-parameters (defaults: SOAP-PINN Table 4, Burgers).

    Attributes:
        arch: "pirate", "modified_mlp" or "mlp".
        width: hidden width (PirateNet: also the Fourier feature count).
        depth: PirateNet blocks, or hidden layers of the MLPs.
        activation: a key of `ACTIVATIONS`.
        rff_scale: std of the Fourier feature matrix B; 0 disables the features (not for pirate).
        rwf: (mu, sigma) of random weight factorisation, or None for plain dense layers.
        init: "glorot" (Glorot-normal weights, zero biases) or "torch" (PyTorch's default
            ``nn.Linear`` init: weights and biases uniform in +-1/sqrt(fan_in); plain MLPs only).
    """

    arch: str = "pirate"
    width: int = 256
    depth: int = 3
    activation: str = "tanh"
    rff_scale: float = 2.0
    rwf: tuple | None = (1.0, 0.1)
    init: str = "glorot"

    def __post_init__(self):
        if self.init not in ("glorot", "torch"):
            raise ValueError(f"unknown init {self.init!r} (known: glorot, torch)")
        if self.init == "torch" and (self.arch != "mlp" or self.rwf is not None):
            raise ValueError("init 'torch' is for the plain mlp without rwf")
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r} (known: {', '.join(ARCHS)})")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r} (known: {', '.join(ACTIVATIONS)})")
        if self.width < 2 or self.depth < 1:
            raise ValueError(f"width must be >= 2 and depth >= 1, got {self.width}, {self.depth}")
        if self.arch == "pirate" and (self.rff_scale <= 0 or self.width % 2):
            raise ValueError("pirate needs Fourier features (rff_scale > 0) and an even width")
        if self.rwf is not None:
            object.__setattr__(self, "rwf", tuple(self.rwf))

    def replace(self, **changes) -> "NetConfig":
        return dataclasses.replace(self, **changes)


class Net(NamedTuple):
    """A network: ``init(key) -> params``; ``apply(params, z: (in_dim,)) -> (out_dim,)``."""

    init: Callable
    apply: Callable
    in_dim: int
    out_dim: int


# ----------------------------------------------------------------------------- layers


class _Count:
    """Dry run of an initialiser: counts the standard normals it asks for."""

    def __init__(self):
        self.total = 0

    def normal(self, shape):
        self.total += math.prod(shape)
        return jnp.zeros(shape)


class _Normals:
    """Hands out consecutive slices of ONE standard-normal draw (one threefry: quick to compile)."""

    def __init__(self, key, total: int):
        self.flat, self.pos = jax.random.normal(key, (total,)), 0

    def normal(self, shape):
        n = math.prod(shape)
        out = self.flat[self.pos:self.pos + n].reshape(shape)
        self.pos += n
        return out


def _initialiser(build: Callable) -> Callable:
    """init(key) for ``build(rng)``, where ``rng.normal(shape)`` gives standard normals."""

    def init(key):
        count = _Count()
        build(count)
        return build(_Normals(key, count.total))

    return init


def dense_init(rng, n_in: int, n_out: int, rwf: tuple | None, init: str = "glorot") -> dict:
    """Glorot-normal dense layer, factorised as {"v", "s", "b"} when `rwf` = (mu, sigma) else {"w", "b"}.

    Args:
        rng: source of standard normals (``rng.normal(shape)``).
        init: "torch": PyTorch's ``nn.Linear`` default instead, W and b uniform in +-1/sqrt(n_in)
            (kaiming_uniform with a = sqrt(5)); the uniforms are Phi(standard normals), so the one
            normal draw still serves (no rwf).
    """
    if init == "torch":
        bound = 1.0 / math.sqrt(n_in)
        uniform = lambda shape: bound * (2.0 * jax.scipy.special.ndtr(rng.normal(shape)) - 1.0)  # noqa: E731
        return {"w": uniform((n_in, n_out)), "b": uniform((n_out,))}
    w = rng.normal((n_in, n_out)) * math.sqrt(2.0 / (n_in + n_out))
    b = jnp.zeros((n_out,))
    if rwf is None:
        return {"w": w, "b": b}
    mu, sigma = rwf
    s = mu + sigma * rng.normal((n_out,))
    return {"v": w / jnp.exp(s), "s": s, "b": b}


def dense(p: dict, x):
    """x @ W + b with W = p["w"] or p["v"] * exp(p["s"]) (column scales)."""
    w = p["w"] if "w" in p else p["v"] * jnp.exp(p["s"])
    return x @ w + p["b"]


def fourier_init(rng, n_in: int, n_features: int, scale: float) -> dict:
    """Random Fourier feature matrix B: (n_in, n_features // 2) ~ N(0, scale^2)."""
    return {"B": scale * rng.normal((n_in, n_features // 2))}


def fourier(p: dict, x):
    """Phi(x) = [cos(x B), sin(x B)]: (n_features,)."""
    xb = x @ p["B"]
    return jnp.concatenate([jnp.cos(xb), jnp.sin(xb)], axis=-1)


# ----------------------------------------------------------------------------- architectures


def _mlp(cfg: NetConfig, in_dim: int, out_dim: int, modified: bool) -> Net:
    act = ACTIVATIONS[cfg.activation]
    use_rff = cfg.rff_scale > 0
    first = cfg.width if use_rff else in_dim

    def build(rng):
        params = {}
        if use_rff:
            params["embed"] = fourier_init(rng, in_dim, cfg.width, cfg.rff_scale)
        if modified:
            params["gate_u"] = dense_init(rng, first, cfg.width, cfg.rwf)
            params["gate_v"] = dense_init(rng, first, cfg.width, cfg.rwf)
        dims = [first] + [cfg.width] * cfg.depth
        params["hidden"] = [dense_init(rng, dims[i], dims[i + 1], cfg.rwf, cfg.init) for i in range(cfg.depth)]
        params["out"] = dense_init(rng, cfg.width, out_dim, cfg.rwf, cfg.init)
        return params

    def apply(params, z):
        x = fourier(params["embed"], z) if use_rff else z
        if modified:
            u, v = act(dense(params["gate_u"], x)), act(dense(params["gate_v"], x))
        for layer in params["hidden"]:
            x = act(dense(layer, x))
            if modified:
                x = x * u + (1 - x) * v
        return dense(params["out"], x)

    return Net(_initialiser(build), apply, in_dim, out_dim)


def pirate_features(params: dict, z):
    """The PirateNet embedding Phi(z): (width,) -- the output is linear in it while every alpha is 0."""
    return fourier(params["embed"], z)


def _pirate(cfg: NetConfig, in_dim: int, out_dim: int) -> Net:
    act = ACTIVATIONS[cfg.activation]
    w = cfg.width

    def build(rng):
        params = {"embed": fourier_init(rng, in_dim, w, cfg.rff_scale),
                  "gate_u": dense_init(rng, w, w, cfg.rwf),
                  "gate_v": dense_init(rng, w, w, cfg.rwf)}
        params["blocks"] = [{"d1": dense_init(rng, w, w, cfg.rwf), "d2": dense_init(rng, w, w, cfg.rwf),
                             "d3": dense_init(rng, w, w, cfg.rwf), "alpha": jnp.zeros((1,))}
                            for _ in range(cfg.depth)]
        params["out"] = dense_init(rng, w, out_dim, cfg.rwf)
        return params

    def apply(params, z):
        x = pirate_features(params, z)
        u, v = act(dense(params["gate_u"], x)), act(dense(params["gate_v"], x))
        for block in params["blocks"]:
            f = act(dense(block["d1"], x))
            f = f * u + (1 - f) * v
            f = act(dense(block["d2"], f))
            f = f * u + (1 - f) * v
            f = act(dense(block["d3"], f))
            alpha = block["alpha"][0]
            x = alpha * f + (1 - alpha) * x
        return dense(params["out"], x)

    return Net(_initialiser(build), apply, in_dim, out_dim)


ARCHS = ("pirate", "modified_mlp", "mlp")


def make_net(cfg: NetConfig, in_dim: int, out_dim: int) -> Net:
    """Build the network `cfg` mapping (in_dim,) -> (out_dim,)."""
    if cfg.arch == "pirate":
        return _pirate(cfg, in_dim, out_dim)
    return _mlp(cfg, in_dim, out_dim, modified=cfg.arch == "modified_mlp")


def stack_nets(nets: list) -> Net:
    """One network per output group, outputs concatenated (e.g. u and a of an inverse problem)."""

    def init(key):
        return [net.init(k) for net, k in zip(nets, jax.random.split(key, len(nets)))]

    def apply(params, z):
        return jnp.concatenate([net.apply(p, z) for net, p in zip(nets, params)])

    return Net(init, apply, nets[0].in_dim, sum(n.out_dim for n in nets))


def set_output_layer(params: dict, w, b) -> dict:
    """Return `params` whose output layer computes ``x @ w + b`` (respecting RWF: v = w / exp(s))."""
    out = dict(params["out"])
    if "w" in out:
        out["w"] = jnp.asarray(w, out["w"].dtype)
    else:
        out["v"] = jnp.asarray(w, out["v"].dtype) / jnp.exp(out["s"])
    out["b"] = jnp.asarray(b, out["b"].dtype)
    return {**params, "out": out}


# ----------------------------------------------------------------------------- embeddings


def embedding(axes: tuple, periodic: dict, origin: dict | None = None, kinks: dict | None = None
              ) -> tuple[Callable, int]:
    """Input map for coordinates named `axes` (e.g. ("t", "x")): (len(axes),) -> (embed_dim,).

    Args:
        axes: coordinate names in the order of the input vector.
        periodic: axis name -> period P; those become (cos wz, sin wz), w = 2 pi / P (exactly
            periodic outputs and derivatives of every order).
        origin: axis name -> value subtracted before the network (e.g. the start of a time window).
        kinks: periodic axis name -> lo, the coordinate of its periodic boundary; those also get
            |sin(pi (z - lo) / P)|, periodic and smooth except for a slope jump at z = lo (= lo + P),
            so the network can carry a kink there (`pinns.constraints.PeriodicKink`).
    Returns:
        (embed, embed_dim).
    """
    origin, kinks = origin or {}, kinks or {}
    unknown = set(periodic) - set(axes)
    if unknown:
        raise ValueError(f"periodic axes {sorted(unknown)} are not among the inputs {axes}")
    if set(kinks) - set(periodic):
        raise ValueError(f"kink axes {sorted(set(kinks) - set(periodic))} are not periodic axes {sorted(periodic)}")

    def embed(z):
        parts = []
        for i, name in enumerate(axes):
            zi = z[i] - origin.get(name, 0.0)
            if name in periodic:
                omega = 2 * jnp.pi / periodic[name]
                parts += [jnp.cos(omega * zi), jnp.sin(omega * zi)]
                if name in kinks:
                    parts.append(jnp.abs(jnp.sin(0.5 * omega * (zi - kinks[name]))))
            else:
                parts.append(zi)
        return jnp.stack(parts)

    return embed, len(axes) + len(periodic) + len(kinks)


def count_params(params) -> int:
    """Number of scalar parameters in a pytree."""
    return sum(int(x.size) for x in jax.tree_util.tree_leaves(params))


__all__ = ["ACTIVATIONS", "ARCHS", "Net", "NetConfig", "count_params", "dense", "dense_init", "embedding",
           "fourier", "make_net", "pirate_features", "set_output_layer", "stack_nets"]
