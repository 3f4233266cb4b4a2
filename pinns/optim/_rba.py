"""Residual-based attention (RBA): one multiplicative weight per collocation point.

Anagnostopoulos, Toscano, Stergiopulos & Karniadakis, "Residual-based attention in physics-informed
neural networks", Comput. Methods Appl. Mech. Engrg. 421 (2024): after every step

    lambda_i <- gamma * lambda_i + eta * |r_i| / max_j |r_j|,

and the residual loss becomes mean_i (lambda_i r_i)^2. Points whose residual stays large gain weight
(up to eta / (1 - gamma) = 10 with the defaults), points that are already fitted fade to small
weights. The weights carry no gradient. For several residual equations |r_i| is the Euclidean norm
of the point's residual vector. We start from lambda = 1 (the unweighted loss) and reset to 1 when
the collocation points are redrawn, since a weight belongs to a point.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["rba_update", "RBA_GAMMA", "RBA_ETA"]

RBA_GAMMA = 0.999
RBA_ETA = 0.01


def rba_update(weights, residuals, gamma: float = RBA_GAMMA, eta: float = RBA_ETA):
    """New RBA weights (B,) from the current weights (B,) and residuals (B,) or (B, n_eq).

    Examples:
      >>> import jax.numpy as jnp
      >>> rba_update(jnp.ones(2), jnp.asarray([1.0, -4.0]), gamma=0.5, eta=1.0).tolist()
      [0.75, 1.5]
    """
    r = jnp.abs(residuals) if residuals.ndim == 1 else jnp.linalg.norm(residuals, axis=-1)
    scale = jnp.maximum(jnp.max(r), jnp.finfo(r.dtype).tiny)
    return jax.lax.stop_gradient(gamma * weights + eta * r / scale)
