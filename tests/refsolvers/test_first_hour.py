"""Issue 23, refsolvers half: commands you can run twice, settings you can discover, input validated before
any work, honest demo files, files and figures for the ecosystem. Every test runs on --quick grids or smaller."""

import json
import math

import h5py
import numpy as np
import pytest

from refsolvers import BENCHMARKS
from refsolvers.cli import main

TINY_KOLMOGOROV = ["--set", "n=32", "--set", "nt=3", "--set", "nx=17", "--set", "ny=17"]


def gen(tmp_path, *args, out="d"):
    return main(["generate", *args, "--out", str(tmp_path / out), "--no-progress"])


def one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _spy_solve(monkeypatch):
    """Record every solve that starts (through the registry that generate() reads)."""
    import dataclasses
    import importlib

    gen_module = importlib.import_module("refsolvers.generate")
    calls, real_get = [], gen_module.get

    def get(name):
        bench = real_get(name)
        return dataclasses.replace(bench, solve=lambda *a, **k: calls.append(name) or bench.solve(*a, **k))

    monkeypatch.setattr(gen_module, "get", get)
    return calls


# ---------------------------------------------------------------------- 1. commands you can run twice
def test_second_run_keeps_same_files_and_fills_in_missing_ones(tmp_path, capsys, monkeypatch):
    assert gen(tmp_path, "wave", "burgers", "--quick") == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "d").iterdir()}
    capsys.readouterr()
    calls = _spy_solve(monkeypatch)
    assert gen(tmp_path, "wave", "burgers", "--quick") == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("exists with the same settings: kept" in line for line in err), err
    assert calls == [] and {p.name: p.stat().st_mtime_ns for p in (tmp_path / "d").iterdir()} == stamps
    (tmp_path / "d" / "burgers.h5").unlink()
    assert gen(tmp_path, "wave", "burgers", "--quick") == 0
    assert calls == ["burgers"] and (tmp_path / "d" / "wave.h5").stat().st_mtime_ns == stamps["wave.h5"]


@pytest.mark.parametrize("args, difference", [
    (["--quick", "--set", "c=3"], "c = 2.0 in the file, 3.0 requested"),
    (["--quick", "--set", "nx=33"], "nx = 64"),
    ([], "made with --quick"),
])
def test_existing_file_with_other_settings_is_refused(tmp_path, capsys, monkeypatch, args, difference):
    assert gen(tmp_path, "wave", "--quick") == 0
    before = (tmp_path / "d" / "wave.h5").stat().st_mtime_ns
    capsys.readouterr()
    calls = _spy_solve(monkeypatch)
    assert gen(tmp_path, "wave", *args) == 2
    err = one_line(capsys)
    assert "other settings" in err and difference in err and "--force" in err, err
    assert calls == [] and (tmp_path / "d" / "wave.h5").stat().st_mtime_ns == before


def test_force_recomputes_an_existing_file(tmp_path, monkeypatch):
    assert gen(tmp_path, "wave", "--quick") == 0
    calls = _spy_solve(monkeypatch)
    assert gen(tmp_path, "wave", "--quick", "--force") == 0
    assert gen(tmp_path, "wave", "--quick", "--force", "--set", "c=3") == 0
    assert calls == ["wave", "wave"]


@pytest.mark.parametrize("name, extra", [("kolmogorov", TINY_KOLMOGOROV), ("burgers", []), ("lid_driven_cavity", []),
                                         ("rayleigh_taylor", ["--set", "nt=3"])])
def test_a_written_file_matches_its_own_settings(tmp_path, name, extra):
    """The solve must not change the settings it records, or a second run could never skip."""
    from refsolvers.generate import settings_difference

    assert gen(tmp_path, name, "--quick", *extra) == 0
    sets = dict(item.split("=") for item in extra[1::2])
    resolved = BENCHMARKS[name].settings(True, **sets)
    assert settings_difference(tmp_path / "d" / f"{name}.h5", name, True, *resolved) is None


def test_python_api_skip_same(tmp_path):
    from refsolvers import generate

    path = generate("wave", tmp_path, quick=True, progress=False)
    before = path.stat().st_mtime_ns
    assert generate("wave", tmp_path, quick=True, progress=False, skip_same=True) == path
    assert path.stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match="c = 2.0 in the file"):
        generate("wave", tmp_path, quick=True, progress=False, skip_same=True, c=3.0)


def test_failed_generate_removes_the_folder_it_created(tmp_path, capsys):
    assert gen(tmp_path, "ks", "--quick", "--set", "dt=0.02", out="new/sub") == 3  # blows up
    assert "blew up" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    assert gen(tmp_path, "ks", "--quick", "--set", "dt=0.02", out="kept") == 3
    assert (tmp_path / "kept").is_dir()  # it was there before: left alone


# ---------------------------------------------------------------------- 2. settings you can discover
def test_every_settable_key_is_documented():
    from refsolvers.catalog import key_doc

    for name, bench in BENCHMARKS.items():
        keys = list(bench.params) + list(bench.solver) + ["n" + k for k in bench.output]
        missing = [k for k in keys if key_doc(name, k) is None]
        assert not missing, f"{name}: undocumented --set keys {missing} (refsolvers/catalog.py)"


@pytest.mark.parametrize("command", ["list", "info"])
def test_list_name_shows_keys_defaults_units_grids_and_time(capsys, command):
    assert main([command, "kolmogorov"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert rows["nu"].split()[1] == "0.0001" and "viscosity" in rows["nu"]
    assert rows["n"].split()[1:3] == ["512", "64"]  # default, quick
    assert rows["cfl"].split()[3] == "1"  # unit column
    for key in BENCHMARKS["kolmogorov"].params | BENCHMARKS["kolmogorov"].solver:
        assert key in rows
    assert "paper grid: t 50 on [0.04, 2], y 512 on [0, 1], x 512" in out and "quick grid: t 5 on" in out
    assert "expected time ~6 min" in out and "memory ~" in out


def test_help_of_every_subcommand_shows_defaults(capsys):
    import argparse

    from refsolvers.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    shown = 0
    for command, sub in subparsers.choices.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        for action in sub._actions:
            if action.option_strings and action.default is not argparse.SUPPRESS and action.help:
                assert f"(default: {action.default})" in out, (command, action.dest)
                shown += 1
    assert shown >= 8


# ---------------------------------------------------------------------- 3. bad input: one line, before any work
@pytest.mark.parametrize("args, message", [
    (["burgers", "--set", "nu=inf"], "nu must be finite"),
    (["burgers", "--set", "nu=nan"], "nu must be finite"),
    (["burgers", "--set", "nu=-1"], "nu = -1 is out of range"),
    (["kolmogorov", "--set", "cfl=-0.5"], "cfl = -0.5 is out of range"),
    (["gray_scott", "--set", "v0_form=square"], "v0_form must be one of gaussian, one_minus"),
    (["kolmogorov", "--set", "n=65536"], "of memory, this machine has"),
    (["allen_cahn", "--set", "nx=100000000", "--set", "nt=100000"], "of memory, this machine has"),
])
def test_bad_values_are_refused_before_any_work(tmp_path, capsys, monkeypatch, args, message):
    calls = _spy_solve(monkeypatch)
    quick = [] if "n=65536" in args or "nt=100000" in args else ["--quick"]
    assert gen(tmp_path, *args, *quick) == 2
    assert message in one_line(capsys)
    assert calls == [] and not (tmp_path / "d").exists()


def test_memory_refusal_gives_both_figures(tmp_path, capsys):
    from refsolvers.memory import human, total_memory

    assert gen(tmp_path, "kolmogorov", "--set", "n=65536") == 2
    err = one_line(capsys)
    assert "TiB of memory" in err and human(total_memory()) in err, err


def test_memory_estimate_covers_the_measured_peaks():
    """Peak RSS of default runs (datasets/README.md; allen_cahn measured 2026-12-07): estimate within 1x..3x."""
    from refsolvers.memory import estimate_bytes

    measured = {"kolmogorov": 1.12 * 2**30, "lid_driven_cavity": 3.1 * 2**30, "rayleigh_taylor": 0.21 * 2**30,
                "allen_cahn": 368e6, "kdv": 122e6, "burgers": 216e6}
    for name, peak in measured.items():
        bench = BENCHMARKS[name]
        ratio = estimate_bytes(bench, *bench.settings()) / peak
        assert 1.0 <= ratio <= 3.0, (name, ratio)


def test_writer_refuses_non_finite_fields(tmp_path):
    from refsolvers import write_h5

    t, x = np.linspace(0, 1, 3), np.linspace(0, 1, 4)
    u = np.zeros((3, 4))
    u[1, 2] = np.nan
    with pytest.raises(ValueError, match="u has 1 non-finite values"):
        write_h5(tmp_path / "a.h5", "wave", {"t": t, "x": x}, {"u": u}, {}, {}, "test")
    assert list(tmp_path.iterdir()) == []


def _fake(path, benchmark, periodic):
    from refsolvers import write_h5

    y = x = np.linspace(0, 1, 9)
    fields = {"u": np.sin(2 * np.pi * x)[None, :] * np.ones((9, 1))}
    return write_h5(path, benchmark, {"y": y, "x": x}, fields, {}, {"error_estimate": {"total": math.nan,
                                                                                       "time": math.inf}},
                    "test", extra_attrs={"metric_fields": "u", "periodic": periodic})


def test_spectrum_of_a_non_periodic_field_says_so(tmp_path, capsys):
    path = _fake(tmp_path / "cavity.h5", "lid_driven_cavity", "")
    assert main(["plot", str(path), "--spectrum", "--out", str(tmp_path / "s.png")]) == 2
    err = one_line(capsys)
    assert "not periodic" in err and "drop_endpoint" not in err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("value", ["abc", "-3", "0", "1.5"])
def test_bad_refsolvers_threads_is_one_line(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("REFSOLVERS_THREADS", value)
    assert gen(tmp_path, "wave", "--quick") == 2
    err = one_line(capsys)
    assert f"invalid value REFSOLVERS_THREADS={value!r}" in err and "positive integer" in err
    assert not (tmp_path / "d").exists()


def test_valid_refsolvers_threads(monkeypatch):
    from refsolvers._fft import default_threads

    monkeypatch.setenv("REFSOLVERS_THREADS", " 2 ")
    assert default_threads(10) == 2
    monkeypatch.setenv("REFSOLVERS_THREADS", "")
    assert default_threads(10) == 1


# ---------------------------------------------------------------------- 4. honest demo files
def test_unconverged_quick_file_is_marked_as_a_demo(tmp_path, capsys):
    assert gen(tmp_path, "kolmogorov", "--quick", *TINY_KOLMOGOROV) == 0
    err = capsys.readouterr().err
    assert "warning: kolmogorov: estimated relative L2 error" in err and "demo" in err
    path = tmp_path / "d" / "kolmogorov.h5"
    with h5py.File(path) as f:
        assert f.attrs["demo"] == 1 and "not resolve" in f.attrs["demo_reason"]
    assert main(["info", str(path)]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["demo"] is True and "not resolve" in info["demo_reason"] and "demo file" in captured.err


def test_converged_file_is_not_a_demo(tmp_path, capsys):
    assert gen(tmp_path, "wave", "--quick") == 0
    assert "warning" not in capsys.readouterr().err
    with h5py.File(tmp_path / "d" / "wave.h5") as f:
        assert f.attrs["demo"] == 0 and "demo_reason" not in f.attrs
    assert main(["info", str(tmp_path / "d" / "wave.h5")]) == 0
    assert json.loads(capsys.readouterr().out)["demo"] is False


# ---------------------------------------------------------------------- 5. files and figures for the ecosystem
def test_every_variable_and_coordinate_has_cf_units_and_long_name(tmp_path):
    assert gen(tmp_path, "kolmogorov", "--quick", *TINY_KOLMOGOROV) == 0
    with h5py.File(tmp_path / "d" / "kolmogorov.h5") as f:
        attrs = {name: dict(ds.attrs) for name, ds in f.items()}
    assert set(attrs) == {"t", "y", "x", "u", "v", "w"}
    assert all(a["units"] == "1" for a in attrs.values())
    assert attrs["w"]["long_name"] == "vorticity" and attrs["t"]["long_name"] == "time"


def test_info_prints_strict_json(tmp_path, capsys):
    path = _fake(tmp_path / "f.h5", "kolmogorov", "x,y")
    assert main(["info", str(path)]) == 0

    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    info = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert info["solver"]["error_estimate"] == {"total": None, "time": None}


def test_figure_convention_time_vertical_and_signed_colormap(tmp_path):
    from refsolvers import read_h5
    from refsolvers.plotting import CMAP_SIGNED, TIME_AXIS, dataset_figure

    assert (TIME_AXIS, CMAP_SIGNED) == ("vertical", "RdBu_r")
    assert gen(tmp_path, "wave", "--quick") == 0
    fig = dataset_figure(read_h5(tmp_path / "d" / "wave.h5"), "u")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "t")
    mesh = ax.collections[0]
    assert mesh.get_cmap().name == "RdBu_r" and mesh.norm.vmin == -mesh.norm.vmax


def test_steady_panels_are_titled_by_their_field(tmp_path):
    from refsolvers import read_h5, write_h5
    from refsolvers.plotting import dataset_figure

    y = x = np.linspace(0, 1, 5)
    fields = {"p": np.ones((5, 5)), "u": -np.ones((5, 5)), "v": np.eye(5)}
    write_h5(tmp_path / "c.h5", "lid_driven_cavity", {"y": y, "x": x}, fields, {}, {}, "test",
             extra_attrs={"metric_fields": "u", "periodic": ""})
    fig = dataset_figure(read_h5(tmp_path / "c.h5"), "u")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["p", "u", "v"] and fig.get_suptitle() == "lid_driven_cavity"


def test_snapshot_panels_do_not_overlap(tmp_path):
    from refsolvers import read_h5
    from refsolvers.plotting import dataset_figure

    assert gen(tmp_path, "kolmogorov", "--quick", *TINY_KOLMOGOROV) == 0
    fig = dataset_figure(read_h5(tmp_path / "d" / "kolmogorov.h5"), "w", n_snapshots=3)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_title()]
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    assert len(boxes) == 3
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 <= right.x0 + 1.0, (left, right)


def test_spectrum_axis_names_the_box_length(tmp_path, monkeypatch):
    import refsolvers.spectrum as spectrum

    seen = {}
    monkeypatch.setattr(spectrum, "plot_spectra", lambda curves, path, **kw: seen.update(kw) or path)
    path = _fake(tmp_path / "f.h5", "kolmogorov", "x,y")
    assert main(["plot", str(path), "--spectrum", "--out", str(tmp_path / "s.png")]) == 0
    assert seen["xlabel"] == "wavenumber k (units of 2π/L, L = 1)"
    assert spectrum.wavenumber_label(2.0).endswith("L = 2)")


# ---------------------------------------------------------------------- 6. repository root
def test_license_changelog_and_gitignore():
    import pathlib
    import shutil
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[2]
    assert "MIT License" in (root / "LICENSE").read_text() and "Copyright (c) 2026 the refpinn authors" in (
        root / "LICENSE").read_text()
    assert "## Unreleased" in (root / "CHANGELOG.md").read_text()
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["runs/a/ckpt.npz", "datasets/burgers.h5", "kq/x.h5", "spectrum_refs/k.h5", "d/kdv.h5.host.1.ab.tmp",
             "nb/.ipynb_checkpoints/a.ipynb"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=root, capture_output=True,
                             text=True).stdout.split()
    assert ignored == paths
