"""scripts/device_check.py --smoke on the CPU, with pyfftw blocked as on the GPU image (no pyfftw there)."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "device_check.py"
BLOCK_PYFFTW = "import sys; sys.modules['pyfftw'] = None\n"


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT), REFSOLVERS_THREADS="1")
    if "xla_cpu_multi_thread_eigen" not in env.get("XLA_FLAGS", ""):  # kept beside tests/conftest.py's flag
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    env.pop("REFSOLVERS_FFT", None)
    return env


def load_script():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_refsolvers_without_pyfftw_matches(tmp_path):
    """Without pyfftw refsolvers imports, picks scipy.fft, and writes the same Allen-Cahn file."""
    code = BLOCK_PYFFTW + (
        "import refsolvers, refsolvers._fft as f, sys\n"
        "assert not f.HAVE_PYFFTW and f.RealFFT((8,), 1).backend == 'scipy'\n"
        "refsolvers.generate('allen_cahn', sys.argv[1], quick=True, progress=False)\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "nofftw")], check=True, env=_env(), cwd=ROOT)
    import refsolvers

    ref = refsolvers.generate("allen_cahn", tmp_path / "default", quick=True, progress=False)
    a = refsolvers.read_h5(tmp_path / "nofftw" / "allen_cahn.h5")
    b = refsolvers.read_h5(ref)
    np.testing.assert_allclose(a["u"], b["u"], rtol=0, atol=1e-9)


@pytest.mark.slow  # the whole GPU check (4 training steps compiled, probe) end to end: ~1 min on a CPU
def test_smoke_run_writes_json_and_md(tmp_path):
    out = tmp_path / "dc"
    code = BLOCK_PYFFTW + ("import runpy, sys\nsys.argv = sys.argv[1:]\n"
                           f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(SCRIPT), "--out", str(out), "--smoke",
                           "--problems", "burgers,lid_driven_cavity"],
                          env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[device_check" in proc.stderr and "speed burgers soap" in proc.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["device_check.json", "device_check.md", "probe_metrics.jsonl"]
    assert all((out / f).stat().st_size < 2**20 for f in files)
    d = json.loads((out / "device_check.json").read_text())
    assert d["status"] == "complete" and d["mode"] == "smoke"
    assert d["environment"]["pyfftw"].startswith("no")
    assert d["environment"]["matmul"]["rel_err_default"] < 1e-4  # CPU: full float32
    speed = {(r["problem"], r["optimizer"]): r for r in d["speed"]}
    assert set(speed) == {(p, o) for p in ("burgers", "lid_driven_cavity") for o in ("adam", "soap")}
    for r in speed.values():
        assert r["status"] == "ok" and r["steps_per_s"] > 0 and r["compile_s"] > 0 and r["loss_finite"]
        assert r["flops_per_step"] > 0 and r["tflops"] > 0
    assert d["ratios"]["burgers"]["ours"] > 0 and d["ratios"]["burgers"]["paper"] == pytest.approx(4.05 / 1.18)
    probe = d["probe"]
    assert probe["steps"] >= 2 * probe["every"] and len(probe["records"]) >= 2
    assert all(np.isfinite(r["rel_l2"]) for r in probe["records"])
    md = (out / "device_check.md").read_text()
    assert "| burgers | soap |" in md and "Accuracy probe" in md and "SOAP/Adam" in md


def test_cost_flops_dict_list_and_missing():
    dc = load_script()

    class C:
        def __init__(self, ca):
            self.ca = ca

        def cost_analysis(self):
            if isinstance(self.ca, Exception):
                raise self.ca
            return self.ca

    assert dc.cost_flops(C({"flops": 3.0})) == 3.0
    assert dc.cost_flops(C([{"flops": 2.0}, {"bytes accessed": 1.0}])) == 2.0
    assert dc.cost_flops(C({"bytes accessed": 1.0})) is None
    assert dc.cost_flops(C([])) is None
    assert dc.cost_flops(C(NotImplementedError())) is None


def test_peak_table_matches_most_specific_first():
    dc = load_script()
    match = lambda kind: next(p for p in dc.PEAKS if p[0] in kind.lower())  # noqa: E731
    assert match("NVIDIA H200")[1] == 67.0
    assert match("NVIDIA H100 PCIe")[1] == 51.0
    assert match("NVIDIA A100-SXM4-80GB")[1] == 19.5
    assert match("NVIDIA A10")[1] == 31.2
    assert match("NVIDIA RTX A6000")[1] == 38.7
    assert match("NVIDIA L40S")[1] == 91.6 and match("NVIDIA L4")[1] == 30.3


def test_flops_per_step_with_and_without_trip_count():
    dc = load_script()
    assert dc.flops_per_step(100.0, 100.0, 50)[0] == 100.0  # body counted once
    assert dc.flops_per_step(5000.0, 100.0, 50)[0] == 100.0  # trip count counted
    assert dc.flops_per_step(101.0, 100.0, 2)[0] == 101.0
    assert dc.flops_per_step(200.0, 100.0, 2)[0] == 100.0
    assert dc.flops_per_step(None, 80.0, 10) == (80.0, "lowered (pre-optimisation) cost_analysis")
    assert dc.flops_per_step(None, None, 10)[0] is None


def test_watchdog_leaves_partial_results(tmp_path):
    """A hard deadline inside the run ends it with exit 3 and a readable partial JSON/MD."""
    out = tmp_path / "dc"
    # the watchdog must fire inside the probe's first segment, which is mostly an XLA compile: without the test
    # session's shared compilation cache (tests/conftest.py) that compile outlasts the 6 s left; with it, a cached
    # program could finish in time (seen once in CI) and the run would end complete instead
    env = {k: v for k, v in _env().items() if k != "JAX_COMPILATION_CACHE_DIR"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--smoke", "--problems", "burgers",
                           "--cap-deadline", "9"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    d = json.loads((out / "device_check.json").read_text())
    assert d["status"].startswith("partial: hard deadline") and "environment" in d
    assert "partial" in (out / "device_check.md").read_text()
