import os
import shutil
import tempfile

import pytest

# Tests must not depend on the machine's load: one FFT thread everywhere.
os.environ.setdefault("REFSOLVERS_THREADS", "1")

# One XLA compilation per distinct program per test session: many tests build the same trainer (same
# problem, config and shapes), and each new Trainer would compile its jitted steps again (10-20 s each on
# a CPU). JAX's persistent compilation cache in a folder made fresh for this session (so a run never
# profits from an earlier one) turns every repeat into a disk read; subprocesses inherit it through the
# environment. Results are unchanged: the cached executable is the one the compiler made.
_JAX_CACHE = tempfile.mkdtemp(prefix="pytest-jax-cache-")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _JAX_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

# Most tests are dominated by compiling small programs, not by running them: XLA's LLVM backend at -O0
# compiles about a third faster (measured on the quasi-Newton and AutoBalance modules: 90 s -> 60 s). XLA's
# own graph optimisations (fusion, simplification) still run, and without fast-math the arithmetic is the
# same IEEE arithmetic. An optimization level already in XLA_FLAGS is kept.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()


def pytest_configure(config):
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    shutil.rmtree(_JAX_CACHE, ignore_errors=True)


@pytest.fixture(scope="module")
def x64():
    """jax_enable_x64 on for the module that asks (``pytestmark = pytest.mark.usefixtures("x64")``),
    restored afterwards."""
    import jax

    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", prev)
