"""Training throughput of the SOAP-PINN pipeline: steps/s and memory per problem.

Times `--steps` training steps (one jitted `lax.scan` chunk, after a warm-up call that compiles it)
of the paper configuration (PirateNet 3 x 256, RWF, batch 8192, grad-norm + causal weighting) on
burgers, allen_cahn and gray_scott, and reports compile time, steps/s, the XLA temporary buffer
size of one chunk and the process peak RSS. Datasets: ``--data DIR`` with NAME.h5, or small
``--quick`` ones generated into a temporary folder (only the initial data matter for timing).

    python scripts/bench_pinns.py                       # all three, CPU or whatever jax.devices() is
    python scripts/bench_pinns.py --problems burgers --steps 20 --batch 8192 --optimizer soap
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import sys
import tempfile
import time

import jax
import jax.numpy as jnp


def bench(name: str, data, steps: int, batch: int, optimizer: str, width: int, depth: int) -> dict:
    from pinns.problems import get_problem
    from pinns import Trainer, make_config

    problem = get_problem(name, data)
    cfg = make_config(problem, "paper", batch=batch, optimizer=optimizer, net={"width": width, "depth": depth})
    tr = Trainer(problem, cfg)
    carry = jax.device_put(tr.init_carry(tr.init_params(jax.random.PRNGKey(0))), tr.replicated)
    ta, tb = tr.window_bounds[0]
    args = (jnp.int32(1), jax.random.PRNGKey(1), ta, tb, tr.initial_values)
    start = time.perf_counter()
    compiled = tr.chunk_fn(steps).lower(carry, *args).compile()
    compile_s = time.perf_counter() - start
    carry, out = compiled(carry, *args)  # warm-up
    jax.block_until_ready(out)
    start, cpu = time.perf_counter(), time.process_time()
    carry, out = compiled(carry, *args)
    jax.block_until_ready(out)
    wall = time.perf_counter() - start
    mem = compiled.memory_analysis()
    temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
    return {"problem": name, "device": str(jax.devices()[0].platform), "n_devices": jax.device_count(),
            "arch": f"pirate {depth}x{width}", "batch": batch, "optimizer": optimizer, "steps": steps,
            "compile_s": round(compile_s, 2), "steps_per_s": round(steps / wall, 3),
            "cpu_s_per_step": round((time.process_time() - cpu) / steps, 3),
            "xla_temp_mib": None if temp is None else round(temp / 2**20, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "loss_finite": bool(jnp.all(jnp.isfinite(out["loss"])))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="burgers,allen_cahn,gray_scott")
    parser.add_argument("--data", help="folder with NAME.h5 (default: quick datasets in a temporary folder)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (one chunk)")
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--optimizer", default="adam")
    args = parser.parse_args(argv)
    names = [n for n in args.problems.split(",") if n]
    with tempfile.TemporaryDirectory() as tmp:
        data = pathlib.Path(args.data) if args.data else pathlib.Path(tmp)
        for name in names:
            if not (data / f"{name}.h5").exists():
                import refsolvers

                refsolvers.generate(name, data, quick=True, progress=False)
            print(json.dumps(bench(name, data, args.steps, args.batch, args.optimizer, args.width, args.depth)),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
