"""ETDRK4: exactness on linear problems, fourth order on nonlinear ones (real and complex L)."""

import numpy as np
import pytest

from refsolvers import ETDRK4, PeriodicGrid, etdrk4_coefficients


def logistic_exact(lam, u0, t):
    """Exact solution of u' = lam u + u^2 (a Bernoulli equation), valid for complex lam."""
    e = np.exp(lam * t)
    return lam * u0 * e / (lam + u0 * (1 - e))


def integrate(lam, u0, dt, t_end):
    stepper = ETDRK4(lam, lambda u: u * u, dt)
    u = u0.copy()
    for _ in range(int(round(t_end / dt))):
        u = stepper.step(u)
    return u


@pytest.mark.parametrize("lam", [np.array([-1.0, -20.0, 0.5]), np.array([-1.0 + 5j, 8j, -30 - 3j])],
                         ids=["real L", "complex L"])
def test_fourth_order_in_time(lam):
    u0 = np.full(lam.shape, 0.3 + 0j)
    t_end = 1.0
    dts = np.array([0.1, 0.05, 0.025, 0.0125])
    errors = [np.max(np.abs(integrate(lam, u0, dt, t_end) - logistic_exact(lam, u0, t_end))) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    # ETDRK4 is fourth order; 0.3 is the customary slack of a slope fit (exponax, diffrax)
    assert abs(slope - 4) < 0.3, (slope, errors)


def test_complex_coefficients_are_not_the_real_part():
    """A purely dispersive symbol gives complex phi-functions; dropping Im would be O(1) wrong."""
    c = etdrk4_coefficients(np.array([0.0, 50j]), dt=0.1)
    z = 5j
    q_exact = 0.1 * (np.exp(z / 2) - 1) / z
    np.testing.assert_allclose(c["Q"][1], q_exact, rtol=1e-12)  # contour integral: round-off accurate
    assert abs(c["Q"][1].imag) > 1e-3


@pytest.mark.parametrize("symbol", ["heat", "dispersion"])
def test_linear_problems_are_exact(symbol):
    """With N = 0 the scheme is u <- exp(L dt) u: exact for heat and u_t = -c u_xxx on every mode."""
    grid = PeriodicGrid((64,), (2 * np.pi,), (0.0,))
    (k,) = grid.wavenumbers()
    linear = -0.1 * k**2 if symbol == "heat" else 1j * 0.05 * k**3  # -c u_xxx -> -c (ik)^3 = i c k^3
    u0 = grid.project(lambda x: np.exp(np.sin(x)))
    stepper = ETDRK4(linear, lambda u: 0 * u, 0.01)
    u = u0
    for _ in range(100):
        u = stepper.step(u)
    np.testing.assert_allclose(u, u0 * np.exp(linear * 1.0), atol=1e-12 * np.abs(u0).max())


def test_spectral_convergence_in_space():
    """Advection through the FFT path (u_t = -u_x split between L and N): error falls to round-off."""
    errors = []
    for n in (8, 16, 32):
        grid = PeriodicGrid((n,), (2.0,), (-1.0,))
        (k,) = grid.wavenumbers()
        mask = grid.mode_mask()

        def nonlinear(u_hat):  # half the advection computed in physical space
            return -0.5 * grid.to_spectral(grid.to_physical(1j * k * u_hat)) * mask

        f = lambda x: np.exp(np.sin(np.pi * x))  # noqa: E731
        stepper = ETDRK4(-0.5j * k, nonlinear, 1e-3)
        u = grid.project(f)
        for _ in range(200):
            u = stepper.step(u)
        x = np.linspace(-1, 1, 33)
        errors.append(np.max(np.abs(grid.evaluate(u, (x,)) - f(x - 0.2))))
    # dt^4 error ~ 1e-13 at dt=1e-3; the space error must fall geometrically to that floor
    assert errors[0] > 1e3 * errors[1] and errors[2] < 1e-11, errors


def test_invalid_dt():
    with pytest.raises(ValueError, match="positive"):
        ETDRK4(np.zeros(3), lambda u: u, 0.0)


# ---------------------------------------------------------------------- PDEs as data (issue 12 item 6)
@pytest.mark.parametrize("module, cls", [("allen_cahn", "AllenCahn"), ("korteweg_de_vries", "KortewegDeVries"),
                                         ("kuramoto_sivashinsky", "KuramotoSivashinsky"), ("gray_scott", "GrayScott"),
                                         ("ginzburg_landau", "GinzburgLandau"), ("burgers", "Burgers")])
def test_etdrk4_pdes_are_frozen_coefficient_records(module, cls):
    import dataclasses
    import importlib

    from refsolvers._spectral import make_problem

    mod = importlib.import_module(f"refsolvers.pde.{module}")
    pde_class = getattr(mod, cls)
    pde = pde_class(**mod.PARAMS)
    assert {f.name for f in dataclasses.fields(pde)} == set(mod.PARAMS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(pde, next(iter(mod.PARAMS)), 0.0)
    for dealias in (False, True):
        problem = make_problem(mod.BENCHMARK, 32, mod.PARAMS, dealias)
        grid = problem.grid
        assert problem.linear.shape == (len(pde.field_names),) + grid.spectral_shape
        tendency = problem.nonlinear(problem.u0_hat)
        kept = grid.mode_mask(2 / 3 if dealias else 1.0)
        assert np.all(tendency[..., ~kept] == 0)  # the driver's mask, not the PDE's
        np.testing.assert_array_equal(tendency, pde.nonlinear(problem.u0_hat, grid) * kept)
