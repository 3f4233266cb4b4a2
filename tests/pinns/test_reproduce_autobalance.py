"""scripts/reproduce_autobalance.py: schedule compression, options, aggregation, table; end to end (slow)."""

import importlib.util
import json
import math
import pathlib
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "reproduce_autobalance.py"


@pytest.fixture(scope="module")
def rep():
    spec = importlib.util.spec_from_file_location("reproduce_autobalance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # importable by name, as --jobs workers and pickle need
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _row(rep, problem, method, seed, mse, linf=1e-2, **more):
    return {"problem": problem, "method": method, "seed": seed, "steps": 3000, "field": "u", "mse": mse,
            "linf": linf, "rel_l2": 0.1, "wall_s": 10.0, "steps_per_s": 40.0, "history": [[50, 1.0], [100, mse]],
            **more}


def test_schedule_is_the_papers_compressed_in_time(rep):
    full = rep.schedule_overrides("reaction_diffusion", 30_000)
    assert (full["warmup_steps"], full["decay_steps"], full["decay_every"], full["gradnorm_every"]) == (1500, 1000, 50, 1000)
    tenth = rep.schedule_overrides("helmholtz", 3000)
    assert (tenth["steps"], tenth["warmup_steps"], tenth["decay_steps"], tenth["decay_every"]) == (3000, 150, 100, 5)
    assert tenth["gradnorm_every"] == 100 and tenth["log_every"] == 50
    tiny = rep.schedule_overrides("poisson_inverse", 10)
    assert min(tiny["warmup_steps"], tiny["decay_every"], tiny["log_every"]) >= 1


def test_options_per_method_seeds_and_bad_names(rep):
    args = rep.parse_args(["--methods", "autobalance-adamw,ew", "--seeds", "0",
                           "--method-seeds", "autobalance-adamw=0,1,2", "--out", "x"])
    assert args.seed_lists == {"autobalance-adamw": [0, 1, 2], "ew": [0]}
    assert args.results == pathlib.Path("x")
    with pytest.raises(SystemExit):
        rep.parse_args(["--methods", "adamw"])
    with pytest.raises(SystemExit):
        rep.parse_args(["--problems", "burgers"])


def test_aggregate_picks_the_lowest_mse_seed_and_skips_diverged(rep):
    rows = [_row(rep, "helmholtz", "autobalance-adamw", 0, 3e-3, 0.5),
            _row(rep, "helmholtz", "autobalance-adamw", 1, 1e-3, 0.7),
            {"problem": "helmholtz", "method": "autobalance-adamw", "seed": 2, "steps": 3000, "error": "nan at 5"},
            {"problem": "helmholtz", "method": "mgda", "seed": 0, "steps": 3000, "error": "nan at 7"}]
    s = rep.aggregate(rows)["helmholtz"]
    ab = s["autobalance-adamw"]
    assert (ab["best_seed"], ab["mse"], ab["linf"]) == (1, 1e-3, 0.7)
    assert ab["seeds"]["2"] == {"error": "nan at 5"} and ab["wall_s"] == 20.0
    assert ab["paper"] == {"mse": 2.04e-3, "linf": 3.84e-1}
    assert s["mgda"]["best_seed"] is None and s["mgda"]["mse"] is None
    text = rep.table(rep.aggregate(rows), "head")
    assert text.startswith("head\n")
    assert "| helmholtz | AutoBalance-AdamW | 1.00e-03 | 7.00e-01 | 2.04e-03 | 3.84e-01 |" in text
    assert "2: diverged" in text and "| helmholtz | MGDA | — | — | 8.17e-03 |" in text


def test_paper_numbers_cover_every_problem(rep):
    assert set(rep.PAPER) == set(rep.PROBLEMS)
    for problem, rows in rep.PAPER.items():
        assert set(rows) <= set(rep.METHODS) and all(mse > 0 and linf > 0 for mse, linf in rows.values())
    assert rep.PAPER["reaction_diffusion"]["autobalance-adamw"] == (2.61e-7, 5.05e-3)


def test_table_only_tabulates_finished_runs_and_names_the_missing(rep, tmp_path, capsys):
    """--table-only trains nothing: finished runs (result.json) are tabulated, unfinished ones named."""
    out = tmp_path / "runs"
    for seed, mse in ((0, 4e-6), (2, 2e-6)):
        folder = out / "reaction_diffusion" / "ew" / f"steps30000_seed{seed}"
        folder.mkdir(parents=True)
        (folder / rep.RESULT_FILE).write_text(json.dumps(_row(rep, "reaction_diffusion", "ew", seed, mse)))
    (out / "reaction_diffusion" / "ntk" / "steps30000_seed0").mkdir(parents=True)  # interrupted: no result.json
    argv = ["--problems", "reaction_diffusion", "--methods", "ew,ntk", "--out", str(out), "--table-only"]
    summary = rep.main(argv)
    assert set(summary["reaction_diffusion"]) == {"ew"}
    assert summary["reaction_diffusion"]["ew"]["best_seed"] == 2
    table = (out / "table.md").read_text()
    assert "INCOMPLETE" in table and "REDUCED" not in table and "--table-only" in table
    assert "not run (4 of 6): reaction_diffusion EW seed 1; reaction_diffusion NTK seed 0;" in table
    assert not (out / "reaction_diffusion" / "ntk" / "steps30000_seed0" / "checkpoint.npz").exists()
    with pytest.raises(SystemExit, match="no finished run"):
        rep.main(["--problems", "helmholtz", "--out", str(out), "--table-only"])


@pytest.mark.slow
def test_main_end_to_end(rep, tmp_path, capsys):
    """One problem, two methods, one seed, 30 steps: files exist, numbers finite; a rerun reuses the runs."""
    argv = ["--problems", "poisson_inverse", "--methods", "autobalance-adamw,ew", "--seeds", "0", "--steps", "30",
            "--out", str(tmp_path / "runs"), "--results", str(tmp_path / "res")]
    summary = rep.main(argv)
    res = tmp_path / "res"
    data = json.loads((res / "results.json").read_text())
    assert len(data["runs"]) == 2
    for run in data["runs"]:
        assert math.isfinite(run["mse"]) and math.isfinite(run["linf"]) and run["history"][-1][0] == 30
    assert (res / "mse_history_poisson_inverse.png").stat().st_size > 1000
    table = (res / "table.md").read_text()
    assert "REDUCED" in table and "| poisson_inverse | EW |" in table
    assert "[2/2] poisson_inverse EW seed 0" in capsys.readouterr().out
    again = rep.main(argv)
    assert again == summary and "(reused)" in capsys.readouterr().out


@pytest.mark.slow  # two spawned worker processes, each importing JAX and compiling: ~30 s
def test_parallel_workers_give_the_runs_of_one_process(rep, tmp_path, capsys):
    """--jobs 2 (spawned worker processes) trains the same runs as one process, bit for bit."""
    base = ["--problems", "poisson_inverse", "--methods", "autobalance-adamw,ew", "--seeds", "0", "--steps", "8"]
    one = rep.main(base + ["--out", str(tmp_path / "one")])
    two = rep.main(base + ["--out", str(tmp_path / "two"), "--jobs", "2"])
    out = capsys.readouterr().out
    assert "[2/2]" in out and "with 2 worker(s)" in (tmp_path / "two" / "table.md").read_text()
    for method in ("autobalance-adamw", "ew"):
        a, b = one["poisson_inverse"][method], two["poisson_inverse"][method]
        assert a["mse"] == b["mse"] and a["linf"] == b["linf"]
