"""Prediction figures follow the convention of `refsolvers plot` (`refsolvers.plotting`): time vertical, x
horizontal, "RdBu_r" centred on zero for signed fields (`pinns.eval.run_figure`)."""

import json

import numpy as np
import pytest

from pinns.config import CONFIG_FILE, make_config
from pinns.eval import field_style, open_run, run_figure
from refsolvers.plotting import CMAP_SIGNED, TIME_AXIS
from pinns.problems import get_problem
from pinns.run import Run


@pytest.fixture(scope="module")
def wave_run(tmp_path_factory):
    """A wave run folder at step 0 (tiny MLP, no training step compiled), opened as `pinns eval` opens it."""
    problem = get_problem("wave")
    cfg = make_config(problem, "quick", net={"arch": "mlp", "width": 8, "depth": 1}, batch=64, eval_points=100,
                      log_alignment=False)
    folder = tmp_path_factory.mktemp("wave")
    Run(folder, problem, cfg).save(Run(folder, problem, cfg).fresh_state())
    (folder / CONFIG_FILE).write_text(json.dumps(cfg.to_dict()))
    return open_run(folder)


def test_signed_fields_get_a_diverging_colormap_centred_on_zero():
    assert field_style(np.array([-1.0, 3.0])) == {"cmap": "RdBu_r", "vmin": -3.0, "vmax": 3.0}
    assert field_style(np.array([0.5, 2.0]))["cmap"] != "RdBu_r"


def test_prediction_figure_has_time_vertical_x_horizontal_and_the_shared_colormap(wave_run):
    run, state = wave_run
    truth = run.problem.reference.fields["u"]
    assert truth.min() < 0 < truth.max()  # the wave's u is signed
    fig = run_figure(run, state)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 and TIME_AXIS == "vertical"
    for ax in panels:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "t")
        lo, hi = ax.get_ylim()
        assert (lo, hi) == pytest.approx((run.problem.domain["t"][0], run.problem.domain["t"][1]))
    prediction, reference, error = (ax.images[0] for ax in panels)
    for image in (prediction, reference):
        assert image.get_cmap().name == CMAP_SIGNED == "RdBu_r"
        vmin, vmax = image.get_clim()
        assert vmin == -vmax == pytest.approx(-np.abs(truth).max())
    assert error.get_cmap().name != "RdBu_r"
    # rows are times: the image's first row is the reference at t = t0 (the lower edge)
    np.testing.assert_array_equal(np.asarray(reference.get_array()), truth)
    assert reference.origin == "lower"
