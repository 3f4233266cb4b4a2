"""Command line: train -> eval -> resume on a small exact problem; bad input gives one line and exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

import refsolvers
from pinns.cli import main
from pinns.problems import get_problem
from pinns.config import make_config


def one_error_line(capsys, code, expected_code=2):
    err = capsys.readouterr().err.strip()
    assert code == expected_code
    assert len(err.splitlines()) == 1 and err.startswith("pinns: error: "), err
    return err


def write_burgers(path, benchmark="burgers", params=None):
    t, x = np.linspace(0, 1, 5), np.linspace(-1, 1, 9)
    refsolvers.write_h5(path, benchmark, {"t": t, "x": x}, {"u": np.zeros((5, 9))}, params or {"nu": 0.01},
                        {"method": "test"}, "test")


def test_unknown_problem(capsys, tmp_path):
    err = one_error_line(capsys, main(["train", "nope", "--out", str(tmp_path / "r")]))
    assert "unknown problem 'nope'" in err


def test_missing_dataset(capsys, tmp_path):
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(tmp_path), "--out", str(tmp_path / "r")]))
    assert "no dataset for burgers" in err


def test_dataset_of_another_benchmark(capsys, tmp_path):
    write_burgers(tmp_path / "burgers.h5", benchmark="allen_cahn", params={"d": 1e-4, "a": 5.0})
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(tmp_path), "--out", str(tmp_path / "r")]))
    assert "is for benchmark 'allen_cahn', not 'burgers'" in err


def test_impossible_settings_are_refused_before_training(capsys, tmp_path):
    write_burgers(tmp_path / "burgers.h5")
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                                       "--batch", "100"]))
    assert "not divisible by causal_chunks 16" in err
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                                       "--optimizer", "lbfgs"]))
    assert "unknown optimizer 'lbfgs'" in err


def test_corrupt_checkpoint(capsys, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cfg = make_config(get_problem("wave"), "quick")
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 truncated")
    err = one_error_line(capsys, main(["eval", str(run)]))
    assert "corrupt checkpoint" in err
    err = one_error_line(capsys, main(["train", "wave", "--out", str(run), "--resume"]))
    assert "corrupt checkpoint" in err


def test_eval_of_a_folder_that_is_not_a_run(capsys, tmp_path):
    err = one_error_line(capsys, main(["eval", str(tmp_path)]))
    assert "is not a run folder" in err


RD_ARGS = ["--preset", "quick", "--balance", "none", "--batch", "128", "--log-every", "10", "--no-progress"]


def test_train_then_eval_end_to_end(capsys, tmp_path):
    run = tmp_path / "rd"
    args = ["train", "reaction_diffusion", "--out", str(run), "--steps", "20", *RD_ARGS]
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["step"] == 20 and set(trained) == {"rel_l2", "mse", "linf", "step"}
    assert (run / "prediction.png").stat().st_size > 1000
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [10, 20]
    assert {"loss", "res", "bc", "weights", "rel_l2", "wall_s", "steps_per_s", "lr"} <= set(lines[-1])

    assert main(["eval", str(run)]) == 0
    assert json.loads(capsys.readouterr().out) == trained  # same checkpoint, same numbers
    one_error_line(capsys, main(args))  # the folder holds a run: refuse to overwrite it


@pytest.mark.slow
def test_resume_from_the_command_line(capsys, tmp_path):
    run = tmp_path / "rd"
    assert main(["train", "reaction_diffusion", "--out", str(run), "--steps", "20", *RD_ARGS]) == 0
    assert main(["train", "reaction_diffusion", "--out", str(run), "--steps", "30", "--resume", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 30
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [10, 20, 30]
    err = one_error_line(capsys, main(["train", "reaction_diffusion", "--out", str(run), "--resume", "--seed", "3"]))
    assert "cannot change seed" in err


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pinns.cli", "train", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["pinns: error: unknown problem 'nope' (known: " +
                                                proc.stderr.split("(known: ")[1].strip()]


def test_unknown_balance_is_refused_before_the_run_folder_exists(tmp_path, capsys):
    run = tmp_path / "run"
    err = one_error_line(capsys, main(["train", "reaction_diffusion", "--out", str(run), "--balance", "nosuch"]))
    assert "unknown --balance 'nosuch'" in err and not run.exists()
    known = [n.split(" (")[0] for n in err.split("(known: ", 1)[1][:-1].split(", ")]
    assert len(known) == len(set(known)) and "gradnorm" in known and "autobalance" in known
    assert "config (ConFIG" in err


def test_missing_data_folder_hint_names_that_folder(tmp_path, capsys):
    data = tmp_path / "datasets"
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(data), "--out", str(tmp_path / "run")]))
    assert f"no dataset for burgers at {data / 'burgers.h5'}" in err
    assert err.endswith(f"(make one: refsolvers generate burgers --out {data})")


def test_run_folder_is_portable_and_warns_on_a_changed_dataset(tmp_path, capsys, monkeypatch):
    """config.json keeps the dataset as an absolute path and its fields_sha256: `pinns eval` works from
    another directory, and a dataset whose fields changed gets one warning line."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    write_burgers(work / "data" / "burgers.h5")
    monkeypatch.chdir(work)
    assert main(["train", "burgers", "--data", "data", "--out", "run", "--preset", "quick", "--steps", "2",
                 "--batch", "64", "--log-every", "2", "--no-progress"]) == 0
    cfg = json.loads((work / "run" / "config.json").read_text())
    assert cfg["data"] == str(work / "data") and len(cfg["data_sha256"]) == 64
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["eval", str(work / "run")]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["step"] == 2 and "warning" not in out.err
    t, x = np.linspace(0, 1, 5), np.linspace(-1, 1, 9)
    refsolvers.write_h5(work / "data" / "burgers.h5", "burgers", {"t": t, "x": x}, {"u": np.ones((5, 9))},
                        {"nu": 0.01}, {"method": "test"}, "test")
    assert main(["eval", str(work / "run")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pinns: warning: the dataset") and "differs" in err[0]
