"""scripts/autobalance_investigation.py: every experiment is the paper preset with exactly the change it names."""

import importlib.util
import pathlib

import pytest

from pinns.config import make_config
from pinns.problems import get_problem

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "autobalance_investigation.py"


@pytest.fixture(scope="module")
def inv():
    spec = importlib.util.spec_from_file_location("autobalance_investigation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _changed_fields(problem_name, overrides, log):
    problem = get_problem(problem_name)
    base = make_config(problem, "paper", optimizer="adamw", balance="autobalance", **log).to_dict()
    cfg = make_config(problem, "paper", optimizer="adamw", balance="autobalance", **{**log, **overrides}).to_dict()
    changed = {k for k in cfg if cfg[k] != base[k] and k != "net"}
    changed |= {f"net.{k}" for k in cfg["net"] if cfg["net"][k] != base["net"][k]}
    return changed


@pytest.mark.parametrize("suite, problem_name, baseline", [("EXPERIMENTS", "reaction_diffusion", "baseline"),
                                                           ("HZ_EXPERIMENTS", "helmholtz", "hz_baseline")])
def test_each_experiment_changes_only_what_it_names(inv, suite, problem_name, baseline):
    experiments = getattr(inv, suite)
    assert experiments[baseline][1] == {}
    for name, (what, overrides) in experiments.items():
        expected = {f"net.{k}" for k in overrides.get("net", {})} | {k for k in overrides if k != "net"}
        changed = _changed_fields(problem_name, overrides, inv.LOG)
        # an override equal to the preset's value would be a row that changes nothing
        assert changed == expected, (name, what, changed, expected)
        assert what


def test_helmholtz_rows_keep_helmholtz_floor_in_mean_updates(inv):
    """Averaging the two updates halves every learning rate of the problem's own schedule (floor 1e-5 -> 5e-6)."""
    problem = get_problem("helmholtz")
    base = make_config(problem, "paper", optimizer="adamw", balance="autobalance")
    mean = make_config(problem, "paper", optimizer="adamw", balance="autobalance",
                       **inv.HZ_EXPERIMENTS["hz_mean_updates"][1])
    for field in ("lr", "lr_init", "lr_floor"):
        assert getattr(mean, field) == pytest.approx(getattr(base, field) / 2)
    assert mean.weight_decay == pytest.approx(2 * base.weight_decay)


def test_unknown_experiment_is_refused(inv):
    with pytest.raises(SystemExit):
        inv.main(["run", "hz_no_such_change"])
