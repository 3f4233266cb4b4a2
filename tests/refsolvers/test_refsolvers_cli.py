"""The refsolvers command line: contract, bad input (one line, non-zero exit, nothing written), crashes."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from refsolvers.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "refsolvers.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_list_names_every_benchmark(capsys):
    from refsolvers import BENCHMARKS

    assert main(["list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(BENCHMARKS)


@pytest.mark.parametrize("args, message", [
    (["generate", "no_such_pde"], "unknown benchmark"),
    (["generate", "allen_cahn", "--set", "n=0"], "n must be positive"),
    (["generate", "allen_cahn", "--set", "n=-16"], "n must be positive"),
    (["generate", "allen_cahn", "--set", "dt=0"], "dt must be positive"),
    (["generate", "allen_cahn", "--set", "dt=-1e-3"], "dt must be positive"),
    (["generate", "allen_cahn", "--set", "n=abc"], "invalid value"),
    (["generate", "allen_cahn", "--set", "nonsense=1"], "unknown setting"),
    (["generate", "allen_cahn", "--set", "n"], "KEY=VALUE"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, args, message):
    code = main(args + ["--out", str(tmp_path / "out"), "--quick", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err and len(err.splitlines()) == 1, err
    assert not list(tmp_path.rglob("*.h5"))


def test_unwritable_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user that ignores permissions (root)")
        code = main(["generate", "wave", "--quick", "--out", str(locked), "--no-progress"])
        assert code != 0 and "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_output_path_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["generate", "wave", "--quick", "--out", str(blocker / "sub"), "--no-progress"])
    assert code != 0 and "cannot create output folder" in capsys.readouterr().err


def test_existing_file_with_other_settings_needs_force(tmp_path, capsys):
    assert main(["generate", "wave", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    before = (tmp_path / "wave.h5").stat().st_mtime_ns
    assert main(["generate", "wave", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0  # same: kept
    assert main(["generate", "wave", "--quick", "--set", "c=1", "--out", str(tmp_path), "--no-progress"]) != 0
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "wave.h5").stat().st_mtime_ns == before
    assert main(["generate", "wave", "--quick", "--force", "--out", str(tmp_path), "--no-progress"]) == 0


def test_info_and_plot(tmp_path, capsys):
    assert main(["generate", "allen_cahn", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "allen_cahn.h5")]) == 0
    assert '"benchmark": "allen_cahn"' in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "allen_cahn.h5"), "--out", str(tmp_path / "ac.png")]) == 0
    assert (tmp_path / "ac.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["info", str(tmp_path / "missing.h5")]) != 0


def test_killed_generation_leaves_no_file(tmp_path):
    """SIGKILL in the middle of a run: no file (not even a partial one) under the final name."""
    proc = subprocess.Popen([sys.executable, "-m", "refsolvers.cli", "generate", "allen_cahn", "--out", str(tmp_path),
                             "--set", "n=1024", "--set", "dt=1e-5", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    assert proc.poll() is None, "the run should still be going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "allen_cahn.h5").exists()


# ---------------------------------------------------------------------- issue 13: rough edges
def _spy_solve(monkeypatch):
    """Replace generate's registry lookup so that a solve that starts is recorded."""
    import dataclasses
    import importlib

    gen = importlib.import_module("refsolvers.generate")  # the module (the package attribute is the function)

    calls = []
    real_get = gen.get

    def get(name):
        bench = real_get(name)
        return dataclasses.replace(bench, solve=lambda *a, **k: calls.append(name) or bench.solve(*a, **k))

    monkeypatch.setattr(gen, "get", get)
    return calls


def _unwritable_folders(tmp_path):
    """Folders that os.access calls writable for root but where no file can be created."""
    found = []
    imm = tmp_path / "immutable"
    imm.mkdir()
    if subprocess.run(["chattr", "+i", str(imm)], capture_output=True).returncode == 0:
        found.append(imm)
    if os.path.isdir("/sys") and os.access("/sys", os.W_OK):
        found.append(pathlib.Path("/sys"))
    return found


def test_unwritable_folder_is_found_before_the_solve_even_as_root(tmp_path, capsys, monkeypatch):
    folders = _unwritable_folders(tmp_path)
    if not folders:
        pytest.skip("no folder that os.access calls writable but is not (not root, no chattr, no /sys)")
    calls = _spy_solve(monkeypatch)
    try:
        for folder in folders:
            code = main(["generate", "allen_cahn", "--quick", "--out", str(folder), "--no-progress"])
            err = capsys.readouterr().err.strip()
            assert code != 0 and "not writable" in err and len(err.splitlines()) == 1, err
        assert calls == []
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / "immutable")], capture_output=True)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    import socket

    from refsolvers import generate

    host = socket.gethostname().replace(".", "-").replace(os.sep, "-")
    dead = tmp_path / f"wave.h5.{host}.{_dead_pid()}.0a1b2c3d.tmp"
    live = tmp_path / f"wave.h5.{host}.{os.getpid()}.0a1b2c3d.tmp"  # a live writer: must stay
    remote = tmp_path / f"wave.h5.otherhost.{_dead_pid()}.0a1b2c3d.tmp"  # another machine: cannot tell
    legacy_old = tmp_path / "wave.h5.ab_cd12x.tmp"  # tempfile.mkstemp name of older versions
    legacy_new = tmp_path / "wave.h5.zz_yy34q.tmp"
    other = tmp_path / f"kdv.h5.{host}.{_dead_pid()}.0a1b2c3d.tmp"  # another target
    for p in (dead, live, remote, legacy_old, legacy_new, other):
        p.write_bytes(b"\x89HDF" + bytes(92))  # what kill -9 during the write leaves: 96 bytes
    old = time.time() - 2 * 3600
    os.utime(legacy_old, (old, old))
    generate("wave", tmp_path, quick=True, progress=False)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([p.name for p in (live, remote, legacy_new, other)] + ["wave.h5"])


def test_temporary_name_carries_the_pid(tmp_path):
    from refsolvers._io import atomic_path

    with atomic_path(tmp_path / "x.h5") as tmp:
        assert f".{os.getpid()}." in pathlib.Path(tmp).name and tmp.endswith(".tmp")
        pathlib.Path(tmp).write_text("ok")
    assert (tmp_path / "x.h5").read_text() == "ok" and [p.name for p in tmp_path.iterdir()] == ["x.h5"]


def test_info_on_a_file_with_our_schema_but_no_params(tmp_path, capsys):
    import h5py

    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "refsolvers/1"
        f.attrs["benchmark"] = "ks"
    code = main(["info", str(path)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "params" in err and "missing" in err, err


def test_info_prints_dims_and_scales(tmp_path, capsys):
    import json

    assert main(["generate", "gray_scott", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "gray_scott.h5")]) == 0
    fields = json.loads(capsys.readouterr().out)["fields"]
    for name in ("u", "v"):
        assert fields[name]["dims"] == "t,y,x" and fields[name]["scales"] == ["t", "y", "x"]


def test_blow_up_prints_no_runtime_warning(tmp_path):
    """Overflow on the way to a blow-up is reported once, as the blow-up message."""
    proc = run("generate", "ks", "--quick", "--set", "dt=0.02", "--out", str(tmp_path), "--no-progress")
    assert proc.returncode == 3 and "blew up" in proc.stderr
    assert "RuntimeWarning" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_blow_up_raises_no_runtime_warning_in_process(tmp_path):
    import warnings

    from refsolvers import BlowUpError, generate

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for name, dt in (("ks", 0.02), ("gray_scott", 0.01)):
            with pytest.raises(BlowUpError):
                generate(name, tmp_path, quick=True, progress=False, dt=dt)


def _into_closed_pipe(module, *args):
    read, write = os.pipe()
    os.close(read)  # the reader has gone, like `| head` after its first line
    try:
        return subprocess.run([sys.executable, "-m", module, *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize("module, args", [("refsolvers.cli", ["list"]), ("refsolvers.cli", ["info", "FILE"]),
                                          ("pinns.cli", ["list"])])
def test_closed_pipe_is_quiet(tmp_path, module, args):
    if "FILE" in args:
        from refsolvers import generate

        args = ["info", str(generate("wave", tmp_path, quick=True, progress=False))]
    proc = _into_closed_pipe(module, *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_mpmath_is_in_the_dev_extra():
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[2]
    dev = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(req.startswith("mpmath") for req in dev)
