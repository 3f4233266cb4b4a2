"""scripts/reproduce_soap_table.py: the table logic on hand-made run folders, and (slow) the script end to end."""

import importlib.util
import json
import math
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "reproduce_soap_table.py"


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce_soap_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(folder: pathlib.Path, benchmark: str, optimizer: str, errors: list, wall: float, rate: float):
    """A finished run folder as `pinns.train` and the script leave it (no checkpoint needed)."""
    folder.mkdir(parents=True)
    cfg = {"problem": benchmark, "optimizer": optimizer, "preset": "quick", "seed": 0, "steps": 100 * len(errors),
           "windows": 1, "batch": 512, "net": {"arch": "pirate", "depth": 2, "width": 32, "activation": "tanh"}}
    (folder / "config.json").write_text(json.dumps(cfg))
    lines = [{"step": 100 * (i + 1), "loss": 10.0 * e, "rel_l2": {"u": e}, "alignment_intra": 0.1 * i,
              "alignment_inter": -0.1 * i, "wall_s": wall * (i + 1) / len(errors), "steps_per_s": rate}
             for i, e in enumerate(errors)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = {"rel_l2": {"u": errors[-1] * 1.01}, "mse": {"u": 0.0}, "linf": {"u": 0.0}, "step": 100 * len(errors),
              "call_wall_s": wall + 5}
    (folder / "result.json").write_text(json.dumps(result))
    return folder


def test_table_json_and_figures_from_run_folders(tmp_path):
    mod = load_script()
    fake_run(tmp_path / "burgers_adam", "burgers", "adam", [0.5, 0.1, 0.04], wall=100.0, rate=50.0)
    fake_run(tmp_path / "burgers_soap", "burgers", "soap", [0.4, 0.02, 0.01], wall=150.0, rate=40.0)
    runs = [mod.summarize_run(tmp_path / f"burgers_{o}") for o in ("adam", "soap")]
    assert runs[0]["rel_l2"] == pytest.approx(0.0404) and runs[1]["wall_s"] == pytest.approx(150.0)
    assert runs[0]["steps_per_s"] == 50.0 and runs[0]["net"] == "pirate 2x32 tanh"

    meta = {"command": "python scripts/reproduce_soap_table.py burgers", "machine": "test box", "note": "", "wall_s": 1.0}
    paths = mod.write_outputs(tmp_path, runs, meta)

    doc = json.loads((tmp_path / "results.json").read_text())
    b = doc["benchmarks"]["burgers"]
    assert b["paper"] == {"adam": 8.20e-5, "soap": 4.03e-5}  # docs/design.md section 7, paper Table 1
    assert b["soap_over_adam_error"] == pytest.approx(0.0101 / 0.0404)
    assert b["soap_over_adam_wall"] == pytest.approx(1.5)
    assert b["soap_over_adam_step_time"] == pytest.approx(50.0 / 40.0)
    assert doc["source"] == "SOAP-PINN paper, Table 1" and doc["paper_wall_ratio_table5"] == [1.1, 3.9]

    table = (tmp_path / "table.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| burgers"))
    assert row.split(" | ")[1:9] == ["u", "4.04e-02", "1.01e-02", "8.20e-05", "4.03e-05", "0.25×", "0.49×", "100"]
    assert "`python scripts/reproduce_soap_table.py burgers`" in table and "test box" in table
    assert "the 2 runs took 260 s" in table and "SOAP-PINN paper, Table 1" in table
    assert paths["figures"] == [str(tmp_path / "curves_burgers.png")]
    assert (tmp_path / "curves_burgers.png").stat().st_size > 10_000


def test_smooth_is_a_centred_running_mean_of_the_same_length():
    mod = load_script()
    assert mod.smooth([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]).tolist() == [2.0, 2.5, 3.0, 4.0, 5.0, 5.5, 6.0]
    assert mod.smooth([1.0, 2.0, 3.0]).tolist() == [1.5, 2.0, 2.5]  # fewer points than the window
    assert mod.smooth([4.0]).tolist() == [4.0]
    out = mod.smooth([1.0, float("nan"), 3.0])
    assert out[0] == 1.0 and out[2] == 3.0 and out[1] != out[1]  # NaN (no intra-step score) stays NaN


def test_bad_arguments_fail_with_one_line(capsys):
    mod = load_script()
    for argv, why in ((["navier"], "not a Table 1 benchmark: navier"),
                      (["burgers", "--optimizer", "adam,lbfgs"], "unknown optimizer(s): lbfgs"),
                      (["burgers", "--steps", "0"], "--steps must be positive")):
        with pytest.raises(SystemExit) as exc:
            mod.parse_args(argv)
        assert exc.value.code == 2
        assert why in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_run_of_other_settings_is_refused(tmp_path):
    mod = load_script()
    fake_run(tmp_path / "burgers_adam", "burgers", "adam", [0.5], wall=1.0, rate=1.0)
    with pytest.raises(ValueError, match="other settings.*steps 100 != 300"):
        mod._check_settings(tmp_path / "burgers_adam", "quick", "adam", 0, 300)
    mod._check_settings(tmp_path / "burgers_adam", "quick", "adam", 0, None)  # same settings: accepted


@pytest.mark.slow
def test_reproduce_burgers_end_to_end(tmp_path):
    """The real script: dataset generated into tmp_path, 300 quick-preset steps with Adam and SOAP."""
    data, out = tmp_path / "data", tmp_path / "table"
    cmd = [sys.executable, str(SCRIPT), "burgers", "--optimizer", "adam,soap", "--preset", "quick", "--steps", "300",
           "--data", str(data), "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{data / 'burgers.h5'} is missing; generating it" in proc.stdout
    assert (data / "burgers.h5").is_file()

    doc = json.loads((out / "results.json").read_text())
    assert [(r["benchmark"], r["optimizer"], r["step"]) for r in doc["runs"]] == [("burgers", "adam", 300),
                                                                                  ("burgers", "soap", 300)]
    for r in doc["runs"]:
        assert math.isfinite(r["rel_l2"]) and 0 < r["rel_l2"] < 1, r
        assert r["wall_s"] > 0 and r["steps_per_s"] > 0
        # the table's number is the run's own evaluation over the whole grid
        assert json.loads((pathlib.Path(r["run_dir"]) / "result.json").read_text())["rel_l2"]["u"] == r["rel_l2"]
        assert (pathlib.Path(r["run_dir"]) / "prediction.png").stat().st_size > 10_000
    ratio = doc["benchmarks"]["burgers"]["soap_over_adam_wall"]
    assert math.isfinite(ratio) and ratio > 0
    table = (out / "table.md").read_text()
    assert "| burgers | u | " in table and f"{doc['runs'][1]['rel_l2']:.2e}" in table
    assert (out / "curves_burgers.png").stat().st_size > 10_000

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)  # resumable: nothing to do
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count(": finished earlier in ") == 2 and "is missing" not in again.stdout
