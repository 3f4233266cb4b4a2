"""pinns: physics-informed neural networks in JAX, trained against refsolvers datasets.

Modules, one job each: `config` (TrainConfig), `recipes` (optimizer / schedule registries),
`trainer` (network, sampling, losses of one problem), `step` (the jitted step), `run` (a run folder
and its loop), `metrics` (errors, metrics.jsonl), `training` (`train`, the entry point), `eval`
(`evaluate`, plots), `optim` (SOAP, AutoBalance, balancing rules).
"""

__version__ = "0.1.0"

from .config import TrainConfig, make_config  # noqa: E402
from .eval import evaluate  # noqa: E402
from .nets import Net, NetConfig, make_net  # noqa: E402
from .problems import PROBLEMS, Problem, get_problem  # noqa: E402
from .trainer import Trainer  # noqa: E402
from .training import train  # noqa: E402

__all__ = ["Net", "NetConfig", "PROBLEMS", "Problem", "TrainConfig", "Trainer", "evaluate", "get_problem", "make_config",
           "make_net", "train", "__version__"]
