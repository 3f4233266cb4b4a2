"""Problems: residuals vanish on exact solutions, parameters come from the data, bad data is refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import refsolvers
from pinns.problems import EXACT, PROBLEMS, available, get_problem, helmholtz, poisson_inverse, reaction_diffusion


def write_dataset(path, benchmark="burgers", params=None, nt=6, nx=17):
    """A small file in the refsolvers/1 format (values need not solve the PDE for these checks)."""
    t, x = np.linspace(0, 1, nt), np.linspace(-1, 1, nx)
    u = -np.sin(np.pi * x)[None, :] * np.exp(-t)[:, None]
    return refsolvers.write_h5(path, benchmark, {"t": t, "x": x}, {"u": u}, params or {"nu": 0.01 / np.pi},
                               {"method": "test"}, "test", extra_attrs={"metric_fields": "u", "periodic": ""})


def max_residual(problem, u, points):
    """max |residual| over points (float64), with u: z -> (n_fields,)."""
    r = jax.jit(jax.vmap(lambda z: jnp.atleast_1d(jnp.stack(list(problem.residual(u, problem.params, z))))))(points)
    return float(jnp.max(jnp.abs(r)))


def grid(problem, n=9):
    axes = [np.linspace(*problem.domain[a], n) for a in problem.axes]
    return jnp.asarray(np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], -1))


def wave_exact(c):
    def u(z):
        t, x = z[0], z[1]
        return jnp.stack([jnp.sin(jnp.pi * x) * jnp.cos(c * jnp.pi * t)
                          + 0.5 * jnp.sin(4 * jnp.pi * x) * jnp.cos(4 * c * jnp.pi * t)])
    return u


def cases():
    """(problem, exact u, perturbed u) for the problems with exact solutions."""
    wave = get_problem("wave")
    bump = lambda z: 0.01 * jnp.sin(3 * z[-1]) * jnp.cos(2 * z[0])  # noqa: E731  smooth, not a solution
    yield "wave", wave, wave_exact(wave.params["c"]), lambda z: wave_exact(wave.params["c"])(z) + bump(z)
    yield ("reaction_diffusion", get_problem("reaction_diffusion"), lambda z: reaction_diffusion.exact_u(z)[None],
           lambda z: reaction_diffusion.exact_u(z)[None] + bump(z))
    yield ("helmholtz", get_problem("helmholtz"), lambda z: helmholtz.exact_u(z)[None],
           lambda z: helmholtz.exact_u(z)[None] + bump(z))
    pair = lambda z: jnp.stack([poisson_inverse.exact_u(z), poisson_inverse.exact_a(z)])  # noqa: E731
    yield "poisson_inverse", get_problem("poisson_inverse"), pair, lambda z: pair(z) + jnp.stack([bump(z), 0 * bump(z)])


@pytest.mark.parametrize("name", EXACT)
def test_residual_vanishes_on_exact_solution_and_not_on_a_perturbed_one(name):
    with jax.enable_x64(True):
        _, problem, exact, perturbed = next(c for c in cases() if c[0] == name)
        pts = grid(problem)
        # float64 round-off of second derivatives of O(1..1e3) terms (Helmholtz: (5 pi)^2 ~ 250)
        assert max_residual(problem, exact, pts) < 1e-9
        # a 1 % smooth perturbation leaves an O(1e-2) residual: 1e-4 is far above round-off
        assert max_residual(problem, perturbed, pts) > 1e-4


def test_every_registered_problem_module_imports():
    assert set(EXACT) <= set(available()) <= set(PROBLEMS)
    for name in ("burgers", "allen_cahn", "kdv", "ks", "gray_scott", "ginzburg_landau"):
        assert name in available()


def test_parameters_and_initial_data_come_from_the_dataset(tmp_path):
    path = write_dataset(tmp_path / "burgers.h5", params={"nu": 0.123})
    problem = get_problem("burgers", tmp_path)
    assert problem.params == {"nu": 0.123}
    assert problem.axes == ("t", "x") and problem.domain == {"t": (0.0, 1.0), "x": (-1.0, 1.0)}
    points, values = problem.initial
    np.testing.assert_allclose(values[:, 0], -np.sin(np.pi * points[:, 0]))
    assert problem.terms == ("res", "ic", "bc")
    assert problem.source == str(path)


def test_exact_problems_carry_their_terms_and_weights():
    assert get_problem("wave").terms == ("res", "ic", "ic_t", "bc")
    rd = get_problem("reaction_diffusion")
    assert rd.terms == ("res", "bc") and rd.loss_weights == {"res": 5.0, "bc": 1.0}
    inv = get_problem("poisson_inverse")
    assert inv.terms == ("res", "data") and inv.data[0].shape == (70, 2)
    assert inv.metric_fields == ("a",)


def test_bad_input_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        get_problem("nope")
    with pytest.raises(FileNotFoundError, match="no dataset for burgers"):
        get_problem("burgers", tmp_path)
    with pytest.raises(ValueError, match="needs a reference dataset"):
        get_problem("burgers")
    write_dataset(tmp_path / "burgers.h5", benchmark="allen_cahn", params={"d": 1e-4, "a": 5.0})
    with pytest.raises(ValueError, match="is for benchmark 'allen_cahn', not 'burgers'"):
        get_problem("burgers", tmp_path)
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        get_problem("burgers", tmp_path / "x.h5")
