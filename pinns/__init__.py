"""pinns: physics-informed neural networks in JAX, trained against refsolvers datasets."""

__version__ = "0.1.0"

from .eval import evaluate  # noqa: E402
from .nets import Net, NetConfig, make_net  # noqa: E402
from .problems import PROBLEMS, Problem, get_problem  # noqa: E402
from .train import TrainConfig, Trainer, make_config, train  # noqa: E402

__all__ = ["Net", "NetConfig", "PROBLEMS", "Problem", "TrainConfig", "Trainer", "evaluate", "get_problem", "make_config",
           "make_net", "train", "__version__"]
