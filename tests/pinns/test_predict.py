"""`pinns predict`: the trained network on the reference grid, in the refsolvers/1 contract; an existing
file is kept when it holds this run's prediction at this step and refused otherwise (without --force)."""

import json
import shutil

import h5py
import numpy as np
import pytest

import refsolvers
from pinns.cli import main
from pinns.eval import evaluate


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A reaction-diffusion run trained for 20 steps (quick preset, the settings of test_cli's end-to-end run, so
    its compiled step is reused), shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("predict") / "run"
    assert main(["train", "reaction_diffusion", "--out", str(folder), "--steps", "20", "--preset", "quick",
                 "--balance", "none", "--batch", "128", "--log-every", "10", "--no-progress"]) == 0
    return folder


@pytest.fixture(scope="module")
def predicted(run):
    out = run.parent / "pred" / "rd.h5"
    assert main(["predict", str(run), "--out", str(out)]) == 0
    return out


def test_predict_writes_reference_grid_in_the_dataset_contract(run, predicted):
    out = predicted
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
    assert not (tmp_path / "p.h5").exists()


def test_the_same_prediction_again_is_kept_with_one_line(run, predicted, capsys):
    before = predicted.stat().st_mtime_ns, predicted.read_bytes()
    capsys.readouterr()
    assert main(["predict", str(run), "--out", str(predicted)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(predicted)
    assert len(out.err.strip().splitlines()) == 1 and "made from this run at step 20: kept" in out.err
    assert (predicted.stat().st_mtime_ns, predicted.read_bytes()) == before


def test_another_file_is_refused_without_force_and_rewritten_with_it(run, predicted, tmp_path, capsys):
    other = tmp_path / "other.h5"
    shutil.copyfile(predicted, other)
    with h5py.File(other, "r+") as f:  # the same run at another step
        f.attrs["step"] = 10
    foreign = tmp_path / "foreign.h5"
    foreign.write_bytes(b"not a prediction")
    for path in (other, foreign):
        before = path.read_bytes()
        capsys.readouterr()
        assert main(["predict", str(run), "--out", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("pinns: error: ") and "--force" in err
        assert path.read_bytes() == before
    assert main(["predict", str(run), "--out", str(other), "--force"]) == 0
    with h5py.File(other) as f:
        assert f.attrs["step"] == 20
    np.testing.assert_array_equal(refsolvers.read_h5(other)["u"], refsolvers.read_h5(predicted)["u"])


def test_out_must_be_an_h5_file(run, tmp_path, capsys):
    assert main(["predict", str(run), "--out", str(tmp_path / "p.txt")]) == 2
    assert "must name an .h5 file" in capsys.readouterr().err and not (tmp_path / "p.txt").exists()
