"""Hard constraints reproduce each problem's own initial and boundary data, and refuse where they cannot."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinns.constraints import check, constrained_model, constrained_terms
from pinns.problems import get_problem

pytestmark = pytest.mark.usefixtures("x64")  # float64 for the whole module (tests/conftest.py)

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


# ----------------------------------------------------------------------------- a kink across the periodic boundary


def test_periodic_kink_is_measured_from_u0_and_the_residual(data):
    from pinns.constraints import periodic_kink

    ac = _problem("allen_cahn", data)
    kink = periodic_kink(ac)
    p = ac.params
    u_edge = 1.0**2 * np.cos(np.pi)  # u0(+-1) = -1
    assert kink.jump == pytest.approx(4.0, rel=1e-12)  # u0'(-1+) - u0'(1-) = 2 - (-2)
    assert kink.diffusion == pytest.approx(p["d"], rel=1e-12)
    assert kink.rate == pytest.approx(p["a"] * (1 - 3 * u_edge**2), rel=1e-12)  # f'(u) of a (u - u^3)
    assert (kink.lo, kink.period) == (-1.0, 2.0)
    for name in ("kdv", "burgers", "reaction_diffusion", "wave"):  # smooth u0, or no periodic axis
        assert periodic_kink(_problem(name, data)) is None


def test_kink_layer_is_the_smoothed_kink_of_the_linearised_equation(data):
    from pinns.constraints import periodic_kink
    from pinns.problems._base import d, taylor

    kink = periodic_kink(_problem("allen_cahn", data))
    D, c, J = kink.diffusion, kink.rate, kink.jump
    layer = lambda z: jnp.atleast_1d(kink.layer(z, 0, 0.0))  # noqa: E731
    rng = np.random.default_rng(0)
    # (1) K_t = D K_xx + c K away from the kink (the layer solves the linearised equation)
    for _ in range(50):
        z = jnp.asarray([rng.uniform(1e-4, 1.0), rng.uniform(-0.999, 0.999)])
        kt, kxx, k0 = d(layer, 0)(z)[0], taylor(layer, z, 1, 2)[2][0], layer(z)[0]
        assert abs(kt - D * kxx - c * k0) <= 1e-9 * (abs(kt) + abs(c * k0) + 1e-12)
    # (2) independent: P(s, xi) = E|xi + sqrt(2 D s) Z| - |xi| by adaptive quadrature (split at the kink)
    from scipy.integrate import quad

    for s, x in [(1e-3, 0.999), (0.01, -0.995), (0.3, 0.98), (1.0, -1.0)]:
        sigma, xi = np.sqrt(2 * D * s), 1 - abs(x)
        density = lambda q: np.abs(xi + sigma * q) * np.exp(-q * q / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        expected = sum(quad(density, a, b, epsabs=1e-15, epsrel=1e-12)[0]
                       for a, b in ((-40, -xi / sigma), (-xi / sigma, 40))) - xi
        got = float(layer(jnp.asarray([s, x]))[0]) / (0.5 * J * np.exp(c * s))
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)
    # (3) u0 at t = 0; for t > 0 the slope jump left across x = +-1 is J (1 - e^(c t)), carried by the network's
    # |sin| input, instead of J
    u = constrained_model(_problem("allen_cahn", data), lambda z: jnp.zeros(1), kink=kink)
    assert float(u(jnp.asarray([0.0, 1.0]))[0]) == pytest.approx(-1.0, abs=1e-15)
    for t in (1e-3, 0.1, 1.0):
        slope = jax.grad(lambda x: u(jnp.asarray([t, x]))[0])
        left = float(slope(-1.0 + 1e-12)) - float(slope(1.0 - 1e-12))
        assert left == pytest.approx(J * (1 - np.exp(c * t)), rel=1e-5, abs=1e-9)


def test_kink_input_only_where_a_kink_is_built_in(data):
    from pinns.config import make_config
    from pinns.trainer import Trainer

    for name, extra in (("allen_cahn", 1), ("kdv", 0)):
        problem = _problem(name, data)
        for hard, want in ((True, 3 + extra), (False, 3)):
            cfg = make_config(problem, "accurate", hard_constraints=hard, steps=2, optimizer="adam")
            tr = Trainer(problem, cfg)
            z = jnp.asarray([0.3, 0.2])
            assert tr._embed_static(z).shape == (want,)
