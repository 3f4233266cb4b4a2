"""Optimizers and multi-loss balancing for PINNs (optax transformations)."""

from pinns.optim._soap import (
    DecoupledWeightDecayState,
    SoapState,
    decoupled_weight_decay,
    scale_by_soap,
    soap,
)

__all__ = [
    "DecoupledWeightDecayState",
    "SoapState",
    "decoupled_weight_decay",
    "scale_by_soap",
    "soap",
]
