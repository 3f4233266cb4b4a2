"""`pinns predict`: the trained network on the reference grid, in the refsolvers/1 contract."""

import json

import h5py
import numpy as np

import refsolvers
from pinns.cli import main
from pinns.eval import evaluate


def test_predict_writes_reference_grid_in_the_dataset_contract(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "reaction_diffusion", "--out", str(run), "--preset", "quick", "--steps", "20",
                 "--no-progress"]) == 0
    out = tmp_path / "pred" / "rd.h5"
    assert main(["predict", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    pred = refsolvers.read_h5(out)  # the reference reader reads it
    assert pred.benchmark == "reaction_diffusion"
    assert set(pred.coords) == {"t", "x"} and len(pred.coords["t"]) == 300 and len(pred.coords["x"]) == 300
    assert pred["u"].shape == (300, 300) and pred["u"].dtype == np.float64
    with h5py.File(out) as f:
        assert f.attrs["schema"] == "refsolvers/1" and f.attrs["source"] == "pinn"
        assert f.attrs["step"] == 20 and json.loads(f.attrs["run_config"])["problem"] == "reaction_diffusion"
        assert f["u"].attrs["dims"] == "t,x" and f["u"].dims[0][0].name == "/t"  # dimension scales attached
        stored = json.loads(f.attrs["errors"])
    # the stored errors are those of `pinns eval`, and they describe the stored field
    exact = evaluate(run)
    assert stored["mse"]["u"] == exact["mse"]["u"]
    from pinns.problems import get_problem

    ref = get_problem("reaction_diffusion").reference.fields["u"]
    np.testing.assert_allclose(np.mean((pred["u"] - ref) ** 2), stored["mse"]["u"], rtol=1e-6)


def test_predict_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "--out", str(tmp_path / "p.h5")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
