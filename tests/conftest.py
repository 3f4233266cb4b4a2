import os

import pytest

# Tests must not depend on the machine's load: one FFT thread everywhere.
os.environ.setdefault("REFSOLVERS_THREADS", "1")


@pytest.fixture(scope="module")
def x64():
    """jax_enable_x64 on for the module that asks (``pytestmark = pytest.mark.usefixtures("x64")``),
    restored afterwards."""
    import jax

    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", prev)
