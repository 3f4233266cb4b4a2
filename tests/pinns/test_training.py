"""`pinns.train` entry point: resume="auto" (train / continue / evaluate / refuse) and the compressed schedule."""

import json

import pytest

import refsolvers
from pinns import train
from pinns.config import compressed_schedule, make_config
from pinns.problems import get_problem

RD = dict(preset="quick", progress=False, batch=64, log_every=10, ckpt_every=10, log_alignment=False,
          eval_points=100, net={"arch": "mlp", "width": 8, "depth": 1})


def steps_logged(run):
    return [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_resume_auto_trains_continues_evaluates_and_refuses(tmp_path):
    run = tmp_path / "rd"
    first = train("reaction_diffusion", run, resume="auto", steps=10, **RD)  # nothing there: trained
    assert first["step"] == 10
    again = train("reaction_diffusion", run, resume="auto", steps=10, **RD)  # finished: evaluated, folder unchanged
    assert again == first and steps_logged(run) == [10]
    more = train("reaction_diffusion", run, resume="auto", steps=20, **RD)  # more steps: continued
    assert more["step"] == 20 and steps_logged(run) == [10, 20]
    with pytest.raises(ValueError, match="other settings.*seed 0 != 3"):
        train("reaction_diffusion", run, resume="auto", steps=20, **{**RD, "seed": 3})
    with pytest.raises(ValueError, match="resume must be"):
        train("reaction_diffusion", run, resume="yes", **RD)


def test_compressed_schedule_scales_the_papers_phases():
    problem = get_problem("helmholtz")
    paper = make_config(problem, "paper")
    full = compressed_schedule(problem, paper.steps)
    assert {k: full[k] for k in ("warmup_steps", "decay_steps", "decay_every")} == {
        "warmup_steps": paper.warmup_steps, "decay_steps": paper.decay_steps, "decay_every": paper.decay_every}
    tenth = compressed_schedule(problem, paper.steps // 10)
    assert (tenth["steps"], tenth["warmup_steps"], tenth["decay_steps"], tenth["decay_every"]) == (3000, 150, 100, 5)
    assert min(compressed_schedule(problem, 10).values()) >= 1


def test_generate_exist_ok_keeps_the_file(tmp_path):
    path = refsolvers.generate("wave", tmp_path, quick=True, progress=False)
    before = path.stat().st_mtime_ns
    assert refsolvers.generate("wave", tmp_path, quick=True, progress=False, exist_ok=True) == path
    assert path.stat().st_mtime_ns == before
    with pytest.raises(FileExistsError):
        refsolvers.generate("wave", tmp_path, quick=True, progress=False)
