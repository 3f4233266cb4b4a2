"""pinns: physics-informed neural networks in JAX, trained against refsolvers datasets."""

__version__ = "0.1.0"
