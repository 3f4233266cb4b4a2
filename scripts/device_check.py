"""One prepared command that measures the paper recipe on whatever accelerator `jax.devices()` gives.

    PYTHONPATH=. python3 scripts/device_check.py --out results/device/DATE      # full: < 8 min on one GPU
    PYTHONPATH=. python3 scripts/device_check.py --out /tmp/dc --smoke          # tiny networks, CPU, < 1 min

Nothing is installed: it needs jax, optax, h5py, scipy and numpy (pyfftw is optional: refsolvers falls
back to scipy.fft). Stages, each bounded by a wall-clock cap (not a step count), in this order:

1. environment: devices, versions, float32 matmul precision (the configured flag and a measured
   float32 matmul against float64: TF32 shows as a relative error near 1e-3), measured matmul TFLOP/s;
2. data: the datasets, read from ``--data`` or generated on the CPU cores (quick grids for the speed
   part, where only the initial data matter; the exact Cole-Hopf Burgers reference for the probe);
3. speed: for burgers, allen_cahn, kolmogorov, lid_driven_cavity at ``--preset paper``, with Adam and
   SOAP: compile time of the trainer's own jitted step chunk (`Trainer.chunk_fn`), steady-state
   steps/s, SOAP/Adam time per step beside the paper's Table 5, and the FLOP/s from XLA's cost analysis
   of the compiled chunk as a fraction of the device's FP32 peak;
4. probe: Burgers, paper recipe, SOAP, for a fixed wall budget; relative L2 every 500 steps.

Results go to ``OUT/device_check.json`` and ``OUT/device_check.md`` (rewritten after every measurement,
so a killed run leaves what it measured) and the probe's ``OUT/probe_metrics.jsonl``. A watchdog
thread ends the process (exit 3) at the hard deadline even inside a long XLA compile. One line per
stage goes to stderr.

Budgets (full mode, seconds, times ``--budget-scale``): env 30, data 60, speed until the probe's share
is left, probe 170, hard deadline 465 (7 min 45 s). How they were sized: see ``CPU_MEASUREMENTS``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import threading
import time
from types import SimpleNamespace

import numpy as np


def trainer_api() -> SimpleNamespace:
    """The ONLY place that imports trainer internals."""
    from pinns.config import make_config
    from pinns.eval import evaluate_run
    from pinns.problems import get_problem
    from pinns.run import Run
    from pinns.trainer import Trainer

    return SimpleNamespace(get_problem=get_problem, make_config=make_config, Trainer=Trainer, Run=Run,
                           evaluate_run=evaluate_run)


PROBLEMS = ("burgers", "allen_cahn", "kolmogorov", "lid_driven_cavity")
OPTIMIZERS = ("adam", "soap")

PAPER_TABLE5_HOURS = {  # SOAP-PINN paper Table 5 (NVIDIA A6000, total training time, hours): (Adam, SOAP)
    "burgers": (1.18, 4.05), "allen_cahn": (1.48, 5.83), "kolmogorov": (9.56, 11.00),
    "lid_driven_cavity": (5.67, 8.25)}
PAPER_BURGERS = {"soap": 4.03e-5, "adam": 8.20e-5, "steps": 100_000}  # SOAP-PINN Table 1, after 1e5 steps

# (substring of device_kind, lower case; FP32 non-tensor peak TFLOP/s; TF32 tensor dense peak or None).
# Most specific first ("a100" before "a10", "l40s" before "l40" before "l4"). Vendor data sheets.
PEAKS = (
    ("gh200", 67.0, 494.7), ("h200 nvl", 60.0, 417.5), ("h200", 67.0, 494.7),
    ("h100 pcie", 51.0, 378.0), ("h100 nvl", 60.0, 417.5), ("h100", 67.0, 494.7),
    ("a100", 19.5, 156.0), ("rtx 6000 ada", 91.1, 182.1), ("a6000", 38.7, 77.4),
    ("l40s", 91.6, 183.0), ("l40", 90.5, 90.5), ("l4", 30.3, 60.0), ("a10", 31.2, 62.5),
    ("rtx 4090", 82.6, 82.6), ("rtx 3090", 35.6, 35.6), ("v100", 15.7, None), ("t4", 8.1, None),
)

CPU_MEASUREMENTS = """\
Measured on the 2-core development CPU (otherwise idle, 2026-12-02; XLA used both cores despite
XLA_FLAGS, REFSOLVERS_THREADS=1), full mode with --chunk 10 --time-per-config 0.1 --probe-every 10:
data: burgers exact (Cole-Hopf) 1.1 s; quick allen_cahn 0.2 s, kolmogorov 0.5 s, lid_driven_cavity 0.1 s.
Paper preset, batch 8192, steps/s Adam / SOAP (compile s), XLA FLOP per step:
burgers 3x256 0.69 / 0.72 (3.4 / 5.6), 230 GFLOP; allen_cahn 3x256 0.70 / 0.71 (3.2 / 5.4), 219 GFLOP;
kolmogorov 3x384 0.160 / 0.137 (4.5 / 7.1), 1.21 TFLOP; lid_driven_cavity 4x256 0.294 / 0.129 (6.1 / 9.3), 0.51 TFLOP;
that is 0.15-0.19 TFLOP/s achieved (results/device/cpu_2core/device_check.md).
GPU assumption: an H200 achieves 5-20 TFLOP/s on these steps (8-30 % of its 67 TFLOP/s FP32 peak; the
paper's A6000 did Burgers at 23.5 Adam / 6.9 SOAP steps/s by Table 5, i.e. 5.4 TFLOP/s with Adam), a
30-120x speed-up over this CPU: Burgers 20-90 steps/s with Adam, SOAP 1.1-3.9x slower, Kolmogorov 4-17
steps/s. A speed configuration then costs its compile (3-7 s here; up to 30 s assumed on a GPU) + a
50-step warm-up chunk (<= 12 s) + >= 6 s of timing: 8 configurations in ~150-250 s, the share left after
env (~15 s), data (~5 s) and the 170 s probe under the 465 s deadline. The probe at 7-40 SOAP steps/s
covers ~1000-5000 steps after its first segment (which compiles): 2-10 points at 500-step intervals.
Configurations that no longer fit are skipped (recorded as such), never cut mid-compile.
"""

FULL = dict(env=30.0, data=60.0, probe=170.0, deadline=465.0, time_per_config=6.0, chunk=50, probe_every=500,
            batch=None, net=None)
SMOKE = dict(env=15.0, data=30.0, probe=40.0, deadline=150.0, time_per_config=0.3, chunk=2, probe_every=4,
             batch=256, net={"depth": 1, "width": 16})


# ----------------------------------------------------------------------------- results file


class Report:
    """The results dict, rewritten atomically as JSON and Markdown after every change."""

    def __init__(self, out: pathlib.Path, data: dict):
        self.out, self.data, self.lock = out, data, threading.RLock()
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def log(self, msg: str) -> None:
        print(f"[device_check {self.elapsed():6.1f}s] {msg}", file=sys.stderr, flush=True)

    def write(self) -> None:
        with self.lock:
            self.data["elapsed_s"] = round(self.elapsed(), 2)
            for name, text in (("device_check.json", json.dumps(_clean(self.data), indent=1) + "\n"),
                               ("device_check.md", markdown(self.data))):
                tmp = self.out / f".{name}.tmp"
                tmp.write_text(text)
                os.replace(tmp, self.out / name)


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _fmt(x, spec=".3g", none="-"):
    if x is None:
        return none
    if isinstance(x, str):
        return x
    return format(x, spec)


def markdown(d: dict) -> str:
    env = d.get("environment", {})
    lines = [f"# Device check ({d.get('mode')}, {d.get('started')})", "",
             f"Status: **{d.get('status')}**, {d.get('elapsed_s')} s of the {d.get('budgets_s', {}).get('deadline')} s "
             "hard deadline.", ""]
    if env:
        mm = env.get("matmul", {})
        lines += ["## Environment", "",
                  f"- devices: {env.get('devices')} (`device_kind` {env.get('device_kind')!r}, {env.get('n_devices')} device(s))",
                  f"- jax {env.get('jax')}, jaxlib {env.get('jaxlib')}, optax {env.get('optax')}, numpy {env.get('numpy')}, "
                  f"python {env.get('python')}, pyfftw: {env.get('pyfftw')}",
                  f"- `jax_default_matmul_precision` = {env.get('jax_default_matmul_precision')!r} "
                  f"(the trainer expects: {env.get('trainer_expects_precision')}); x64: {env.get('jax_enable_x64')}",
                  f"- float32 matmul {mm.get('n')}^2, relative error vs float64: default precision "
                  f"{_fmt(mm.get('rel_err_default'))}, HIGHEST {_fmt(mm.get('rel_err_highest'))} -> "
                  f"**{mm.get('verdict', '-')}**; measured {_fmt(mm.get('tflops_default'))} TFLOP/s (default), "
                  f"{_fmt(mm.get('tflops_highest'))} TFLOP/s (HIGHEST)",
                  f"- FP32 peak used: {_fmt(env.get('peak_fp32_tflops'))} TFLOP/s ({env.get('peak_source')}); "
                  f"TF32 tensor peak {_fmt(env.get('peak_tf32_tflops'))}", ""]
        for w in env.get("warnings", []):
            lines.append(f"- WARNING: {w}")
        if env.get("warnings"):
            lines.append("")
    if d.get("data"):
        lines += ["## Data", "", "| dataset | source | quick | seconds |", "|---|---|---|---|"]
        for name, v in d["data"].items():
            lines.append(f"| {name} | {v.get('source')} | {v.get('quick')} | {_fmt(v.get('seconds'), '.1f')} |")
        lines.append("")
    speed = d.get("speed", [])
    if speed:
        lines += ["## Step speed (paper preset, the trainer's jitted step chunk)", "",
                  "| problem | optimizer | net | batch | params | compile s | steps/s | ms/step | GFLOP/step | "
                  "TFLOP/s | of FP32 peak | status |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in speed:
            ms = 1e3 / r["steps_per_s"] if r.get("steps_per_s") else None
            gf = r["flops_per_step"] / 1e9 if r.get("flops_per_step") else None
            frac = f"{100 * r['peak_fraction']:.1f} %" if r.get("peak_fraction") is not None else "-"
            lines.append(f"| {r['problem']} | {r['optimizer']}{' ' + r['precision'] if r.get('precision') else ''} | "
                         f"{r.get('net')} | {r.get('batch')} | {r.get('n_params')} | {_fmt(r.get('compile_s'), '.1f')} | "
                         f"{_fmt(r.get('steps_per_s'), '.3g')} | {_fmt(ms, '.3g')} | {_fmt(gf, '.3g')} | "
                         f"{_fmt(r.get('tflops'), '.3g')} | {frac} | {r.get('status')} |")
        lines.append("")
    ratios = d.get("ratios", {})
    if ratios:
        lines += ["SOAP/Adam time per step (paper Table 5, A6000, total hours: 1.1-3.9x):", "",
                  "| problem | ours | paper |", "|---|---|---|"]
        for name, r in ratios.items():
            lines.append(f"| {name} | {_fmt(r.get('ours'), '.2f')}x | {_fmt(r.get('paper'), '.2f')}x |")
        lines.append("")
    probe = d.get("probe")
    if probe:
        lines += ["## Accuracy probe (Burgers, paper preset, SOAP, fixed wall budget)", "",
                  f"{probe.get('status')}: {probe.get('steps', 0)} steps in {_fmt(probe.get('train_s'), '.1f')} s "
                  f"(first segment incl. compile {_fmt(probe.get('first_segment_s'), '.1f')} s), "
                  f"{_fmt(probe.get('steps_per_s'), '.3g')} steps/s after it. Error falls: **{probe.get('error_falls')}**. "
                  f"Final rel L2 over the whole grid: {_fmt(probe.get('final_rel_l2_full_grid'))}. "
                  f"Paper after {PAPER_BURGERS['steps']:,} steps: SOAP {PAPER_BURGERS['soap']:.2e}, "
                  f"Adam {PAPER_BURGERS['adam']:.2e}.", "",
                  "| step | wall s | loss | rel L2 u |", "|---|---|---|---|"]
        for r in probe.get("records", []):
            lines.append(f"| {r['step']} | {_fmt(r.get('wall_s'), '.1f')} | {_fmt(r.get('loss'), '.3e')} | "
                         f"{_fmt(r.get('rel_l2'), '.3e')} |")
        lines.append("")
    if d.get("errors"):
        lines += ["## Errors", ""] + [f"- {e}" for e in d["errors"]] + [""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- stages


def environment(report: Report, args, budget_end: float) -> dict:
    import jax
    import jax.numpy as jnp
    import jaxlib
    import optax

    try:
        import pyfftw  # noqa: F401

        have_fftw = "yes"
    except ImportError:
        have_fftw = "no (refsolvers uses scipy.fft)"
    devs = jax.devices()
    kind = devs[0].device_kind
    env = {"devices": [str(d) for d in devs], "n_devices": len(devs), "platform": devs[0].platform,
           "device_kind": kind, "jax": jax.__version__, "jaxlib": jaxlib.__version__, "optax": optax.__version__,
           "numpy": np.__version__, "python": platform.python_version(), "host": platform.node(),
           "cpu_count": os.cpu_count(), "pyfftw": have_fftw,
           "jax_default_matmul_precision": getattr(jax.config, "jax_default_matmul_precision",
                                                   os.environ.get("JAX_DEFAULT_MATMUL_PRECISION")),
           "jax_enable_x64": bool(getattr(jax.config, "jax_enable_x64", False)),
           "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "trainer_expects_precision": "unset (None): the trainer sets no matmul precision and runs float32 "
                                        "at the backend default; only pinns.optim's alignment Gram products "
                                        "ask for HIGHEST",
           "warnings": []}
    if env["jax_default_matmul_precision"] not in (None, "default", "DEFAULT"):
        env["warnings"].append(f"jax_default_matmul_precision is {env['jax_default_matmul_precision']!r} "
                               "(JAX_DEFAULT_MATMUL_PRECISION?): the trainer is measured at a non-default precision")
    try:
        stats = devs[0].memory_stats() or {}
        env["memory_gib"] = round(stats.get("bytes_limit", 0) / 2**30, 1) or None
    except Exception:  # noqa: BLE001 - not every backend reports memory
        env["memory_gib"] = None
    # peak
    if args.peak_tflops:
        env["peak_fp32_tflops"], env["peak_tf32_tflops"], env["peak_source"] = args.peak_tflops, None, "--peak-tflops"
    else:
        match = next((p for p in PEAKS if p[0] in kind.lower()), None)
        if match:
            env["peak_fp32_tflops"], env["peak_tf32_tflops"] = match[1], match[2]
            env["peak_source"] = f"table entry {match[0]!r}"
        else:
            env["peak_fp32_tflops"] = env["peak_tf32_tflops"] = None
            env["peak_source"] = "unknown device (pass --peak-tflops)"
    report.data["environment"] = env
    report.write()
    # measured float32 matmul: precision and speed
    n = args.matmul_n
    rng = np.random.default_rng(0)
    a64, b64 = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    exact = a64 @ b64
    a, b = jnp.asarray(a64, jnp.float32), jnp.asarray(b64, jnp.float32)
    mm = {"n": n}
    for name, prec in (("default", None), ("highest", jax.lax.Precision.HIGHEST)):
        f = jax.jit(lambda x, y, p=prec: jnp.matmul(x, y, precision=p))
        c = np.asarray(f(a, b), np.float64)
        mm[f"rel_err_{name}"] = float(np.linalg.norm(c - exact) / np.linalg.norm(exact))
        reps, start = 0, time.perf_counter()
        while reps < 3 or (time.perf_counter() - start < 0.5 and time.perf_counter() < budget_end):
            f(a, b).block_until_ready()
            reps += 1
        mm[f"tflops_{name}"] = 2 * n**3 * reps / (time.perf_counter() - start) / 1e12
    e = mm["rel_err_default"]
    mm["verdict"] = ("TF32 or lower (float32 dots are rounded to ~10-bit mantissas)" if e > 1e-4 else
                     "full float32")
    if e > 1e-4:
        env["warnings"].append(f"default float32 matmuls have relative error {e:.1e} (TF32-like): the network's "
                               "dots are not full float32; set JAX_DEFAULT_MATMUL_PRECISION=highest to compare")
    env["matmul"] = mm
    report.write()
    return env


def prepare_data(report: Report, args, mode: dict, workdir: pathlib.Path) -> dict:
    """{key: folder holding NAME.h5}: the speed part's problems, and "burgers_probe" for the probe.

    Speed needs only the initial data (the network size is the preset's), so it takes the quick grids;
    the probe needs the exact Cole-Hopf Burgers reference (1 s on one core), which then also serves the
    Burgers speed runs. ``--smoke`` uses quick grids throughout.
    """
    import refsolvers

    report.data["data"] = {}
    folders = {}
    given = pathlib.Path(args.data) if args.data else None
    wanted = []
    if not args.no_probe:
        wanted.append(("burgers_probe", "burgers", args.smoke))
    wanted += [(name, name, True) for name in args.problems if name != "burgers" or args.no_probe]
    for key, name, quick in wanted:
        if given and (given / f"{name}.h5").exists():
            folders[key] = given
            report.data["data"][key] = {"source": f"read {given / (name + '.h5')}", "quick": None, "seconds": 0.0}
            continue
        sub = workdir / ("data_quick" if quick else "data_full")
        start = time.perf_counter()
        if not (sub / f"{name}.h5").exists():
            refsolvers.generate(name, sub, quick=quick, progress=False)
        folders[key] = sub
        report.data["data"][key] = {"source": "generated", "quick": quick,
                                    "seconds": round(time.perf_counter() - start, 2)}
        report.write()
    if "burgers" in args.problems and "burgers" not in folders:
        folders["burgers"] = folders["burgers_probe"]
    return folders


def cost_flops(obj):
    """'flops' of an XLA cost analysis (dict, or list of dicts in some jax versions); None when missing."""
    try:
        ca = obj.cost_analysis()
    except Exception:  # noqa: BLE001 - not every backend implements it
        return None
    if isinstance(ca, (list, tuple)):
        vals = [c.get("flops") for c in ca if isinstance(c, dict) and c.get("flops") is not None]
        return float(sum(vals)) if vals else None
    if isinstance(ca, dict) and ca.get("flops") is not None:
        return float(ca["flops"])
    return None


def flops_per_step(f_comp, f_low, chunk: int):
    """(FLOPs of one step, how they were found) from the compiled and lowered chunks' cost analyses.

    XLA's cost analysis counts a while loop's body once on some backends (CPU, jax 0.10) and may
    multiply by a known trip count on others: a compiled count near `chunk` times the lowered one is
    divided by `chunk`, one near the lowered count is the loop body, i.e. one step.
    """
    if f_comp is not None:
        if f_low and chunk > 1 and f_comp > 0.5 * (1 + chunk) * f_low:
            return f_comp / chunk, "compiled chunk cost_analysis / chunk (trip count counted)"
        return f_comp, "compiled chunk cost_analysis (loop body = one step)"
    if f_low is not None:
        return f_low, "lowered (pre-optimisation) cost_analysis"
    return None, "cost analysis unavailable"


def speed_one(api, name: str, optimizer: str, data, args, mode: dict, env: dict, deadline: float,
              precision: str | None = None) -> dict:
    import jax

    problem = api.get_problem(name, data)
    overrides = {"optimizer": optimizer}
    if mode["batch"]:
        overrides["batch"] = mode["batch"]
    if mode["net"]:
        overrides["net"] = dict(mode["net"])
    cfg = api.make_config(problem, "paper", **overrides)
    tr = api.Trainer(problem, cfg)
    carry = jax.device_put(tr.init_carry(tr.init_params(jax.random.PRNGKey(0))), tr.replicated)
    n_params = int(sum(np.size(x) for x in jax.tree_util.tree_leaves(carry["theta"])))
    ta, tb = tr.window_bounds[0]
    ic = tr.initial_values if tr.initial_values is not None else jax.numpy.zeros(0)
    chunk = args.chunk or mode["chunk"]  # full: a multiple of SOAP's precondition frequency (10), so each
    # timed chunk contains its share of eigenbasis refreshes; grad-norm refreshes (1 per 1000 steps) are left out
    fargs = (jax.numpy.int32(1), jax.random.PRNGKey(1), ta, tb, ic)
    rec = {"problem": name, "optimizer": optimizer, "precision": precision,
           "net": f"{cfg.net.arch} {cfg.net.depth}x{cfg.net.width}", "batch": cfg.batch, "n_params": n_params,
           "chunk": chunk, "status": "compiling"}
    if precision and not hasattr(jax, "default_matmul_precision"):
        raise RuntimeError("this jax has no jax.default_matmul_precision context")
    ctx = jax.default_matmul_precision(precision) if precision else _nullcontext()
    with ctx:
        fn = tr.chunk_fn(chunk)
        start = time.perf_counter()
        lowered = fn.lower(carry, *fargs)
        compiled = lowered.compile()
        rec["compile_s"] = round(time.perf_counter() - start, 2)
        # XLA counts a while loop's body once on some backends and trip-count times on others
        f_comp, f_low = cost_flops(compiled), cost_flops(lowered)
        rec["flops_per_step"], rec["flops_source"] = flops_per_step(f_comp, f_low, chunk)
        try:
            mem = compiled.memory_analysis()
            temp = getattr(mem, "temp_size_in_bytes", None)
            rec["xla_temp_mib"] = None if temp is None else round(temp / 2**20, 1)
        except Exception:  # noqa: BLE001
            rec["xla_temp_mib"] = None
        start = time.perf_counter()
        carry, out = compiled(carry, *fargs)  # warm-up: first execution (allocation, autotuning)
        jax.block_until_ready(out)
        warm = time.perf_counter() - start
        rec["warmup_s"] = round(warm, 3)
        rec["loss_finite"] = bool(np.all(np.isfinite(np.asarray(out["loss"]))))
        steps, timed, t_start = 0, 0.0, time.perf_counter()
        budget = min(args.time_per_config or mode["time_per_config"], max(deadline - time.perf_counter(), 0.0))
        # steady state: whole chunks while the per-configuration time lasts (at least one unless out of time)
        while timed < budget and time.perf_counter() + (timed / max(steps, 1) * chunk if steps else warm) < deadline:
            start = time.perf_counter()
            carry, out = compiled(carry, *fargs)
            jax.block_until_ready(out)
            timed += time.perf_counter() - start
            steps += chunk
        del t_start
    if steps:
        rec["steps_per_s"], rec["timed_steps"], rec["status"] = steps / timed, steps, "ok"
    else:
        rec["steps_per_s"], rec["timed_steps"], rec["status"] = chunk / warm, 0, "warm-up chunk only (time cap)"
    rec["loss_finite"] = rec["loss_finite"] and bool(np.all(np.isfinite(np.asarray(out["loss"]))))
    if rec.get("flops_per_step"):
        rec["tflops"] = rec["flops_per_step"] * rec["steps_per_s"] / 1e12
        peak = env.get("peak_fp32_tflops")
        rec["peak_fraction"] = rec["tflops"] / peak if peak else None
    return rec


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def speed(report: Report, api, args, mode: dict, env: dict, folders: dict, deadline: float) -> None:
    import jax

    report.data["speed"], report.data["ratios"] = [], {}
    configs = [(p, o, None) for p in args.problems for o in args.optimizers]
    if args.precision_compare and args.problems:
        configs.append((args.problems[0], args.optimizers[0], "highest"))
    compile_guess = 0.0
    for name, opt, prec in configs:
        left = deadline - time.perf_counter()
        label = f"{name} {opt}{' ' + prec if prec else ''}"
        if left < compile_guess + 1.0:
            report.data["speed"].append({"problem": name, "optimizer": opt, "precision": prec,
                                         "status": f"skipped: {left:.0f} s left of the speed budget"})
            report.log(f"speed {label}: skipped ({left:.0f} s left)")
            report.write()
            continue
        try:
            rec = speed_one(api, name, opt, folders[name], args, mode, env, deadline, prec)
        except Exception as exc:  # noqa: BLE001 - one failure must not lose the rest
            rec = {"problem": name, "optimizer": opt, "precision": prec, "status": f"error: {type(exc).__name__}: {exc}"}
            report.data.setdefault("errors", []).append(f"speed {label}: {type(exc).__name__}: {exc}")
        compile_guess = max(compile_guess, rec.get("compile_s") or 0.0)  # a compile cannot be cut short
        report.data["speed"].append(rec)
        jax.clear_caches()  # free the executables of this configuration
        by = {(r["problem"], r["optimizer"]): r for r in report.data["speed"] if not r.get("precision")}
        if prec is None and (name, "adam") in by and (name, "soap") in by:
            a, s = by[(name, "adam")].get("steps_per_s"), by[(name, "soap")].get("steps_per_s")
            paper = PAPER_TABLE5_HOURS.get(name)
            report.data["ratios"][name] = {"ours": a / s if a and s else None,
                                           "paper": paper[1] / paper[0] if paper else None}
        report.log(f"speed {label}: compile {_fmt(rec.get('compile_s'), '.1f')} s, "
                   f"{_fmt(rec.get('steps_per_s'), '.3g')} steps/s, {_fmt(rec.get('tflops'), '.3g')} TFLOP/s "
                   f"({rec.get('status')})")
        report.write()


def probe(report: Report, api, args, mode: dict, folders: dict, workdir: pathlib.Path, deadline: float) -> None:
    import jax

    every = args.probe_every or mode["probe_every"]
    problem = api.get_problem("burgers", folders["burgers_probe"])
    overrides = {"optimizer": "soap", "log_every": every, "ckpt_every": 10**9, "log_alignment": False}
    if mode["batch"]:
        overrides["batch"] = mode["batch"]
    if mode["net"]:
        overrides["net"] = dict(mode["net"])
    cfg = api.make_config(problem, "paper", **overrides)
    run_dir = workdir / "probe_run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run = api.Run(run_dir, problem, cfg)
    p = report.data["probe"] = {"problem": "burgers", "optimizer": "soap", "preset": "paper",
                                "net": f"{cfg.net.arch} {cfg.net.depth}x{cfg.net.width}", "batch": cfg.batch,
                                "every": every, "records": [], "status": "running", "steps": 0,
                                "paper": PAPER_BURGERS}
    report.write()
    metrics_out = report.out / "probe_metrics.jsonl"
    metrics_out.unlink(missing_ok=True)
    state = run.fresh_state()
    start = time.perf_counter()
    seg_times = []
    while True:
        now = time.perf_counter()
        estimate = seg_times[-1] if len(seg_times) > 1 else 0.0  # the first segment also compiles
        if seg_times and now + estimate > deadline:
            p["status"] = "stopped at the wall budget"
            break
        if state.step >= cfg.steps:
            p["status"] = "finished the window"
            break
        t = time.perf_counter()
        records = []
        state = run.train(state, progress=False, on_record=records.append, until=state.step + every)
        seg_times.append(time.perf_counter() - t)
        for r in records:
            rel = r.get("rel_l2", {}).get("u")
            p["records"].append({"step": r["step"], "wall_s": round(time.perf_counter() - start, 2),
                                 "loss": r.get("loss"), "rel_l2": rel})
            with open(metrics_out, "a") as f:
                f.write(json.dumps(_clean(r)) + "\n")
        p["steps"] = state.step
        p["train_s"] = time.perf_counter() - start
        p["first_segment_s"] = seg_times[0]
        if len(seg_times) > 1:
            p["steps_per_s"] = every * (len(seg_times) - 1) / sum(seg_times[1:])
        errs = [r["rel_l2"] for r in p["records"] if r.get("rel_l2") is not None]
        p["error_falls"] = bool(len(errs) >= 2 and errs[-1] < errs[0])
        report.log(f"probe: step {state.step}, rel L2 {_fmt(errs[-1] if errs else None, '.3e')}")
        report.write()
    if time.perf_counter() < deadline + 30:
        try:
            result = api.evaluate_run(run, state)
            p["final_rel_l2_full_grid"] = result["rel_l2"].get("u")
        except Exception as exc:  # noqa: BLE001
            report.data.setdefault("errors", []).append(f"probe evaluation: {type(exc).__name__}: {exc}")
    jax.clear_caches()
    report.write()


# ----------------------------------------------------------------------------- main


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for device_check.json/.md and probe_metrics.jsonl")
    ap.add_argument("--data", help="folder with NAME.h5 to use instead of generating (missing ones are generated)")
    ap.add_argument("--smoke", action="store_true", help="tiny networks, a few steps, small caps (CI, CPU)")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    ap.add_argument("--budget-scale", type=float, default=1.0, help="multiply every wall-clock cap")
    for part in ("env", "data", "probe", "deadline"):
        ap.add_argument(f"--cap-{part}", type=float, help=f"seconds for the {part} stage (before --budget-scale)")
    ap.add_argument("--time-per-config", type=float, help="seconds of steady-state timing per speed configuration")
    ap.add_argument("--chunk", type=int, help="steps per timed chunk (full: 50, smoke: 2)")
    ap.add_argument("--probe-every", type=int, help="probe steps between error evaluations (full: 500)")
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--precision-compare", action=argparse.BooleanOptionalAction, default=None,
                    help="also time the first problem at matmul precision 'highest' (default: when TF32 is seen)")
    ap.add_argument("--matmul-n", type=int, help="size of the precision/speed matmul probe (full 4096, smoke 256)")
    ap.add_argument("--peak-tflops", type=float, help="FP32 peak of the device (overrides the table)")
    args = ap.parse_args(argv)
    args.problems = [p for p in args.problems.split(",") if p]
    args.optimizers = [o for o in args.optimizers.split(",") if o]
    bad = [p for p in args.problems if p not in PROBLEMS]
    if bad:
        ap.error(f"unknown problem(s) {', '.join(bad)} (this check knows {', '.join(PROBLEMS)})")
    bad = [o for o in args.optimizers if o not in ("adam", "adamw", "soap")]
    if bad:
        ap.error(f"unknown optimizer(s) {', '.join(bad)}")
    if args.budget_scale <= 0:
        ap.error("--budget-scale must be positive")
    args.matmul_n = args.matmul_n or (256 if args.smoke else 4096)
    if args.chunk is not None and (args.chunk < 1 or (not args.smoke and args.chunk % 10)):
        ap.error("--chunk must be a positive multiple of 10 (SOAP refreshes its eigenbasis every 10 steps)")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    mode = dict(SMOKE if args.smoke else FULL)
    for part in ("env", "data", "probe", "deadline"):
        if getattr(args, f"cap_{part}") is not None:
            mode[part] = getattr(args, f"cap_{part}")
    caps = {k: mode[k] * args.budget_scale for k in ("env", "data", "probe", "deadline")}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out, {"schema": "device_check/1", "mode": "smoke" if args.smoke else "full",
                          "started": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "command": " ".join(sys.argv), "status": "running",
                          "budgets_s": {k: round(v, 1) for k, v in caps.items()},
                          "cpu_measurements": CPU_MEASUREMENTS})
    hard = report.t0 + caps["deadline"]
    stop = threading.Event()

    def watchdog():
        if not stop.wait(max(hard - time.perf_counter(), 0.0)):
            with report.lock:
                report.data["status"] = f"partial: hard deadline {caps['deadline']:.0f} s reached (watchdog)"
                report.write()
            report.log("hard deadline reached: partial results written, exiting")
            os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    report.write()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="device_check_"))
    stage = "env"
    try:
        report.log("env: importing jax")
        api = trainer_api()
        env = environment(report, args, time.perf_counter() + caps["env"])
        report.log(f"env: {env['n_devices']} x {env['device_kind']} ({env['platform']}), jax {env['jax']}, "
                   f"matmul {env['matmul']['verdict']}, peak {env['peak_fp32_tflops']} TFLOP/s")
        if args.precision_compare is None:
            args.precision_compare = env["matmul"]["rel_err_default"] > 1e-4
        stage = "data"
        start = time.perf_counter()
        folders = prepare_data(report, args, mode, workdir)
        report.log(f"data: {len(folders)} dataset(s) ready in {time.perf_counter() - start:.1f} s")
        if time.perf_counter() - start > caps["data"]:
            report.data.setdefault("errors", []).append(
                f"data took {time.perf_counter() - start:.0f} s, over its {caps['data']:.0f} s cap")
        probe_share = 0.0 if args.no_probe else caps["probe"]
        margin = min(10.0, 0.03 * caps["deadline"])
        if not args.no_speed:
            stage = "speed"
            speed(report, api, args, mode, env, folders, hard - probe_share - 2 * margin)
        if not args.no_probe:
            stage = "probe"
            probe_end = min(time.perf_counter() + caps["probe"], hard - margin)
            probe(report, api, args, mode, folders, workdir, probe_end)
        report.data["status"] = "complete"
    except KeyboardInterrupt:
        report.data["status"] = f"partial: interrupted during {stage}"
    except Exception as exc:  # noqa: BLE001 - keep what was measured
        report.data["status"] = f"partial: {stage} failed ({type(exc).__name__}: {exc})"
        report.data.setdefault("errors", []).append(f"{stage}: {type(exc).__name__}: {exc}")
    finally:
        stop.set()
        with report.lock:
            report.write()
        shutil.rmtree(workdir, ignore_errors=True)
    report.log(f"done: {report.data['status']}; {out / 'device_check.md'}")
    return 0 if report.data["status"] == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
