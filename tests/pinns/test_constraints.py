"""Hard constraints reproduce each problem's own initial and boundary data, and refuse where they cannot."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinns.constraints import check, constrained_model, constrained_terms
from pinns.problems import get_problem

jax.config.update("jax_enable_x64", True)

QUALIFY = ("wave", "burgers", "allen_cahn", "kdv", "reaction_diffusion", "helmholtz")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import refsolvers

    out = tmp_path_factory.mktemp("data")
    for name in ("burgers", "allen_cahn", "kdv"):
        refsolvers.generate(name, out, quick=True, progress=False)
    return out


def _problem(name, data):
    return get_problem(name, None if name in ("wave", "reaction_diffusion", "helmholtz") else data)


@pytest.mark.parametrize("name", QUALIFY)
def test_constraints_reproduce_initial_and_boundary_data(name, data):
    problem = _problem(name, data)
    check(problem)  # raises if any face is off by more than 1000 ulps
    assert all(t in ("res", "data") or t.startswith("res") for t in constrained_terms(problem))
    # away from the faces the raw network still matters (the constraint is not a constant)
    u = constrained_model(problem, lambda z: jnp.ones(len(problem.fields)))
    v = constrained_model(problem, lambda z: 2.0 * jnp.ones(len(problem.fields)))
    mid = jnp.asarray([0.5 * (lo + hi) + 0.1 for lo, hi in problem.domain.values()])
    assert float(jnp.max(jnp.abs(u(mid) - v(mid)))) > 1e-3


def test_nonzero_boundary_data_is_refused(data):
    problem = _problem("burgers", data).replace(dirichlet=lambda z: jnp.ones(1))
    with pytest.raises(ValueError, match="do not reproduce the data on face x"):
        check(problem)


def test_wrong_initial_function_is_refused(data):
    problem = _problem("allen_cahn", data).replace(initial_fn=lambda zs: jnp.atleast_1d(jnp.cos(zs[0])))
    with pytest.raises(ValueError, match="face t=lo"):
        check(problem)


def test_several_windows_are_refused(data):
    with pytest.raises(ValueError, match="one time window"):
        check(_problem("burgers", data), windows=2)
