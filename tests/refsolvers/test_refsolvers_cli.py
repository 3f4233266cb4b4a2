"""The refsolvers command line: contract, bad input (one line, non-zero exit, nothing written), crashes."""

import os
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


def test_existing_file_needs_force(tmp_path, capsys):
    assert main(["generate", "wave", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    before = (tmp_path / "wave.h5").stat().st_mtime_ns
    assert main(["generate", "wave", "--quick", "--out", str(tmp_path), "--no-progress"]) != 0
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
