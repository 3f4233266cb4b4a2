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
    from pinns import train  # what `pinns train` runs, with a tiny network (the quick PirateNet compiles for 20 s)

    train("burgers", "run", data="data", preset="quick", steps=2, batch=64, log_every=2, progress=False,
          net={"arch": "mlp", "width": 8, "depth": 1}, log_alignment=False, eval_points=100)
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


# ----------------------------------------------------------------------------- settings you can discover


def test_help_of_every_subcommand_shows_every_default(capsys):
    import argparse

    from pinns.cli import _parser

    parser = _parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"train", "presets", "eval", "spectrum", "predict", "list"} <= set(subs)
    for name, sub in subs.items():
        formatter = sub._get_formatter()
        for action in sub._actions:
            if action.option_strings and action.nargs != 0 and not action.required:  # options with a value
                assert "default" in formatter._get_help_string(action), (name, action.option_strings)
        assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: paper)" in out and "(default: w)" in out and "the preset's" in out


def test_version_comes_from_the_installed_distribution(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pinns (refpinn) {version('refpinn')}"


def test_presets_print_the_resolved_configuration(capsys, tmp_path):
    assert main(["presets", "wave", "quick"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"quick": json.loads(json.dumps(make_config(get_problem("wave"), "quick").to_dict()))}
    # a dataset problem without its dataset: every preset, the same settings as with a dataset
    assert main(["presets", "burgers"]) == 0
    every = json.loads(capsys.readouterr().out)
    write_burgers(tmp_path / "burgers.h5")
    assert set(every) == set(get_problem("burgers", tmp_path).presets) == {"paper", "quick", "accurate"}
    assert main(["presets", "burgers", "quick", "--data", str(tmp_path)]) == 0
    with_data = json.loads(capsys.readouterr().out)["quick"]
    assert with_data["data"] == str(tmp_path) and len(with_data["data_sha256"]) == 64
    assert {**with_data, "data": "", "data_sha256": ""} == every["quick"]
    one_error_line(capsys, main(["presets", "nope"]))
    err = one_error_line(capsys, main(["presets", "wave", "fast"]))
    assert "unknown preset 'fast'" in err


def test_dry_run_prints_the_configuration_and_writes_nothing(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "wave", "--out", str(run), "--preset", "quick", "--steps", "7", "--seed", "3",
                 "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["steps"] == 7 and cfg["seed"] == 3 and cfg["problem"] == "wave" and cfg["preset"] == "quick"
    assert cfg["batch"] == make_config(get_problem("wave"), "quick").batch
    assert not run.exists()


# ----------------------------------------------------------------------------- bugs a newcomer hit


@pytest.mark.parametrize("option", [("--budget", "-1"), ("--budget", "0"), ("--budget", "nan"), ("--budget", "inf"),
                                    ("--steps", "-5"), ("--steps", "0"), ("--batch", "-64"), ("--windows", "0"),
                                    ("--log-every", "0"), ("--ckpt-every", "-1"), ("--resample-every", "-1"),
                                    ("--seed", "-1"), ("--steps", "ten")])
def test_non_positive_numbers_are_refused_before_any_work(capsys, tmp_path, option):
    run = tmp_path / "R"
    err = one_error_line(capsys, main(["train", "wave", "--out", str(run), "--preset", "quick", *option]))
    assert option[0] in err and "pinns train --help" in err
    assert not run.exists()


def test_train_refuses_a_non_positive_budget_before_the_folder_exists(tmp_path):
    from pinns import train

    for budget in (-1, 0, float("nan")):
        with pytest.raises(ValueError, match="budget must be a positive number of seconds"):
            train("wave", tmp_path / "R", preset="quick", budget_s=budget, progress=False)
    assert not (tmp_path / "R").exists()


def test_a_dataset_with_nan_values_is_refused_when_loaded(capsys, tmp_path):
    from pinns.problems import load_dataset

    import h5py

    path = tmp_path / "burgers.h5"
    write_burgers(path)
    with h5py.File(path, "r+") as f:  # a damaged file (refsolvers itself writes no NaN)
        f["u"][3, 4] = np.nan
    run = tmp_path / "run"
    err = one_error_line(capsys, main(["train", "burgers", "--data", str(tmp_path), "--out", str(run),
                                       "--preset", "quick"]))
    assert str(path) in err and "field 'u'" in err and "1 non-finite" in err
    assert not run.exists()
    with pytest.raises(ValueError, match="field 'u' holds 1 non-finite"):
        load_dataset("burgers", path)


def test_an_interrupt_says_what_each_command_kept(capsys, monkeypatch):
    import pinns.spectrum
    import pinns.training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pinns.spectrum, "spectrum_comparison", interrupted)
    monkeypatch.setattr(pinns.training, "train", interrupted)
    err = one_error_line(capsys, main(["spectrum", "RUN"]), 130)
    assert "--resume" not in err and "kept in RUN/spectrum_refs and reused when the same command is run again" in err
    err = one_error_line(capsys, main(["train", "wave", "--out", "R"]), 130)
    assert "--resume continues" in err
