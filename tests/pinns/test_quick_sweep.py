"""scripts/quick_sweep.py: speed summary and table (the training itself is tested in test_train)."""

import importlib.util
import json
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "quick_sweep.py"


def load_script():
    spec = importlib.util.spec_from_file_location("quick_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_speed_skips_the_compiling_first_log(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    lines = [{"step": 100, "steps_per_s": 1.0, "wall_s": 50.0}, {"step": 200, "steps_per_s": 40.0, "wall_s": 52.5},
             {"step": 300, "steps_per_s": 30.0, "wall_s": 55.0}, {"step": 400, "steps_per_s": 50.0, "wall_s": 57.0}]
    metrics.write_text("\n".join(json.dumps(m) for m in lines) + "\n")
    assert load_script().speed(metrics) == (40.0, 57.0)


def test_table_rows_errors_and_failures():
    sweep = load_script()
    rows = [{"problem": "burgers", "result": {"rel_l2": {"u": 4.46e-3}}, "steps": 8000, "windows": 1, "batch": 512,
             "steps_per_s": 61.2, "wall_s": 187.0},
            {"problem": "helmholtz", "result": {"mse": {"u": 1.03}, "linf": {"u": 2.08}}, "steps": 2000, "windows": 1,
             "batch": 2000, "steps_per_s": None, "wall_s": 365.7, "shortened": True},
            {"problem": "kolmogorov", "error": "no dataset: refsolvers generate kolmogorov --out datasets"}]
    lines = sweep.table(rows, "header").splitlines()
    assert lines[0] == "header" and len(lines) == 2 + 2 + 3
    assert "| burgers | u 4.46e-03 | 8000 (1) | 512 | 61.2 | 187.0 |" in lines
    assert "MSE 1.03e+00 / L-inf 2.08e+00 (u)" in lines[5] and "(1, shortened)" in lines[5] and "n/a" in lines[5]
    assert lines[6].startswith("| kolmogorov | not run: no dataset")
