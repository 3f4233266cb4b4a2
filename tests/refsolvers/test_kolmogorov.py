"""Kolmogorov flow solver (refsolvers.pde.kolmogorov): exact solutions, invariants, output contract."""

import numpy as np
import pytest

from refsolvers import BlowUpError, generate, read_h5
from refsolvers._etdrk import ETDRK4
from refsolvers._grid import PeriodicGrid
from refsolvers._spectral import vorticity_to_velocity
from refsolvers.pde import kolmogorov as kf
from refsolvers.spectrum import velocity_spectrum


def params(**changes):
    return {**kf.PARAMS, **changes}


def physical(problem, w_hat):
    """(u, v, w) on the solver grid."""
    return problem.grid.to_physical(kf.velocity(problem, w_hat))


def test_forcing_term_is_the_curl_of_f():
    """curl (2 sin 4 pi y, 0) = -d/dy (2 sin 4 pi y) = -8 pi cos 4 pi y (sign of w = v_x - u_y)."""
    problem = kf.make_problem(params(), 32)
    y = problem.grid.mesh()[0]
    forcing = problem.grid.to_physical(problem.nonlinear(np.zeros(problem.grid.spectral_shape, complex)))
    np.testing.assert_allclose(forcing, -8 * np.pi * np.cos(4 * np.pi * y), atol=1e-12)  # round-off of 25


def test_velocity_from_vorticity_is_solenoidal_and_has_that_curl():
    grid = PeriodicGrid((32, 32), (1.0, 1.0), (0.0, 0.0))
    w_hat = grid.to_spectral(np.random.default_rng(0).standard_normal(grid.shape)) * grid.mode_mask(2 / 3)
    w_hat[0, 0] = 0  # a mean vorticity has no periodic velocity
    s_u, s_v = vorticity_to_velocity(grid)
    ky, kx = grid.wavenumbers()
    u_hat, v_hat = s_u * w_hat, s_v * w_hat
    scale = np.max(np.abs(w_hat))
    np.testing.assert_allclose(kx * u_hat + ky * v_hat, 0, atol=1e-14 * scale)  # div u = 0 exactly
    np.testing.assert_allclose(1j * kx * v_hat - 1j * ky * u_hat, w_hat, atol=1e-13 * scale)  # v_x - u_y = w


def test_basdevant_form_equals_advective_form():
    """-(u w_x + v w_y), dealiased, computed the direct way matches the 4-FFT form of the solver."""
    problem = kf.make_problem(params(forcing_amplitude=0.0), 48)
    grid = problem.grid
    mask = grid.mode_mask(2 / 3)
    w_hat = grid.to_spectral(np.random.default_rng(1).standard_normal(grid.shape)) * mask
    ky, kx = grid.wavenumbers()
    u, v, _ = physical(problem, w_hat)
    w_x, w_y = grid.to_physical(np.stack([1j * kx * w_hat, 1j * ky * w_hat]))
    direct = -grid.to_spectral(u * w_x + v * w_y) * mask
    fast = problem.nonlinear(w_hat)
    np.testing.assert_allclose(fast, direct, atol=1e-12 * np.max(np.abs(direct)))  # round-off only


@pytest.mark.parametrize("m", [1, 3])
def test_taylor_green_vortex_decays_exactly(m):
    """Unforced TG: w = 2k sin kx sin ky, u = sin kx cos ky, v = -cos kx sin ky, all decay as exp(-2 nu k^2 t).

    The advection vanishes identically and ETDRK4 integrates the viscous term exactly, so 100 steps
    reproduce the decay to round-off (1e-12 relative: 100 steps of ~1e-15 each, with margin).
    """
    nu, dt, steps = 1e-2, 1e-3, 100
    problem = kf.make_problem(params(nu=nu, forcing_amplitude=0.0), 32)
    grid = problem.grid
    k = 2 * np.pi * m
    y, x = grid.mesh()
    w_hat = grid.to_spectral(2 * k * np.sin(k * x) * np.sin(k * y))
    stepper = ETDRK4(problem.linear, problem.nonlinear, dt)
    for _ in range(steps):
        w_hat = stepper.step(w_hat)
    decay = np.exp(-2 * nu * k**2 * dt * steps)
    exact = decay * np.stack([np.sin(k * x) * np.cos(k * y), -np.cos(k * x) * np.sin(k * y),
                              2 * k * np.sin(k * x) * np.sin(k * y)])
    got = physical(problem, w_hat)
    for q, e in zip(got, exact):
        np.testing.assert_allclose(q, e, rtol=0, atol=1e-12 * np.max(np.abs(e)))


def _budget_residual(dt, t_end=0.2, n=32, nu=1e-2):
    """E(T) - E(0) - int_0^T (-2 nu Z + <f.u>) dt, the integral by Simpson's rule over the steps."""
    problem = kf.make_problem(params(nu=nu), n)
    grid = problem.grid
    y = grid.mesh()[0]
    f_x = 2.0 * np.sin(4 * np.pi * y)
    stepper = ETDRK4(problem.linear, problem.nonlinear, dt)
    w_hat, energy, power = problem.u0_hat, [], []
    for i in range(round(t_end / dt) + 1):
        if i:
            w_hat = stepper.step(w_hat)
        u, v, w = physical(problem, w_hat)
        energy.append(0.5 * np.mean(u * u + v * v))
        power.append(-nu * np.mean(w * w) + np.mean(f_x * u))  # -2 nu Z + <f.u>, Z = <w^2>/2
    power = np.array(power)
    simpson = dt / 3 * (power[0] + power[-1] + 4 * power[1:-1:2].sum() + 2 * power[2:-1:2].sum())
    return energy[-1] - energy[0] - simpson, energy[-1] - energy[0]


def test_energy_budget_closes_to_fourth_order():
    """dE/dt = -2 nu Z + <f.u> holds exactly for the dealiased semi-discrete system (the truncated
    advection conserves energy), so the integrated budget misses only by the O(dt^4) of ETDRK4 and
    Simpson's rule: halving dt must cut the residual by about 16 (we accept > 10)."""
    r1, change = _budget_residual(4e-3)
    r2, _ = _budget_residual(2e-3)
    assert abs(change) > 0.05  # the budget is not trivially small
    assert abs(r2) < 1e-6 * abs(change)
    assert abs(r1 / r2) > 10, (r1, r2)


def test_initial_field_is_seeded_solenoidal_and_has_the_prescribed_spectrum():
    problem = kf.make_problem(params(), 64)
    u, v, _ = physical(problem, problem.u0_hat)
    np.testing.assert_allclose(0.5 * np.mean(u * u + v * v), 0.5, rtol=1e-12)  # normalised energy
    assert abs(np.mean(u)) < 1e-15 and abs(np.mean(v)) < 1e-15  # no mean flow
    grid = problem.grid
    ky, kx = grid.wavenumbers()
    u_hat, v_hat, _ = kf.velocity(problem, problem.u0_hat)
    assert np.max(np.abs(kx * u_hat + ky * v_hat)) < 1e-10 * np.max(np.abs(u_hat))  # divergence-free
    # every mode carries exactly E(|kappa|) / (2 pi |kappa|): per-mode energy / that shape is one constant
    kappa = np.sqrt(grid.wavenumber_squared()) / (2 * np.pi)
    per_mode = 0.5 * (np.abs(u_hat) ** 2 + np.abs(v_hat) ** 2)
    shape = kappa**3 * np.exp(-2 * (kappa / 4.0) ** 2)
    sel = (kappa > 0) & (kappa < 12)
    ratio = per_mode[sel] / shape[sel]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
    # the shell spectrum follows k^4 exp(-2 (k/4)^2) up to the lattice count of each shell (+-30 % at k >= 3)
    k, e = velocity_spectrum(u, v, drop_endpoint=False)
    target = k**4 * np.exp(-2 * (k / 4.0) ** 2)
    target *= 0.5 / target.sum()
    np.testing.assert_allclose(e[3:10], target[3:10], rtol=0.3)
    # seeded: same seed same field, another seed another field with the same energy
    again = kf.make_problem(params(), 64).u0_hat
    other = kf.make_problem(params(seed=1), 64).u0_hat
    np.testing.assert_array_equal(again, problem.u0_hat)
    assert np.linalg.norm(other - problem.u0_hat) > 0.5 * np.linalg.norm(problem.u0_hat)
    np.testing.assert_allclose(np.linalg.norm(other), np.linalg.norm(problem.u0_hat), rtol=1e-12)


def test_initial_field_does_not_depend_on_resolution():
    small, large = kf.make_problem(params(), 64), kf.make_problem(params(), 128)
    a = small.grid.evaluate_uniform(small.u0_hat, (37, 37))
    b = large.grid.evaluate_uniform(large.u0_hat, (37, 37))
    # n = 64 keeps |kappa| < 21.3 where the spectrum has fallen by exp(-2 (21/4)^2) ~ 1e-24
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.max(np.abs(b)))


@pytest.mark.parametrize("shape, counts", [((32, 32), (33, 33)), ((32, 32), (65, 17)), ((64, 48), (21, 40)),
                                           ((16,), (9,)), ((16,), (40,))])
def test_fft_output_evaluation_matches_direct_evaluation(shape, counts):
    """evaluate_uniform (folded spectrum + inverse FFT) equals the matrix evaluation at the points."""
    grid = PeriodicGrid(shape, (2.0,) * len(shape), (-1.0,) * len(shape))
    u_hat = grid.to_spectral(np.random.default_rng(2).standard_normal((3,) + shape)) * grid.mode_mask()
    coords = tuple(np.linspace(-1, 1, m) for m in counts)
    assert grid.uniform_counts(coords) == counts
    assert grid.uniform_counts(coords[:-1] + (coords[-1][:-1],)) is None  # not a whole period with both ends
    np.testing.assert_allclose(grid.evaluate_uniform(u_hat, counts), grid.evaluate(u_hat, coords),
                               rtol=0, atol=1e-13)  # round-off of sums of O(1) values


def test_march_lands_on_outputs_that_do_not_start_at_their_spacing():
    """t_out = 0.1, 0.2 (one rollout from 0) and t_out = 0.15, 0.2 (a first leg to 0.15) agree at 0.2."""
    problem = kf.make_problem(params(nu=1e-2), 32)
    keep = lambda i, w: w.copy()  # noqa: E731
    a, steps_a, _ = kf.march(problem, 1e-3, np.array([0.1, 0.2]), keep, progress=False)
    b, steps_b, _ = kf.march(problem, 1e-3, np.array([0.15, 0.2]), keep, progress=False)
    assert a.shape[0] == b.shape[0] == 2 and steps_a == steps_b == 200
    np.testing.assert_allclose(b[-1], a[-1], atol=1e-9 * np.max(np.abs(a[-1])))  # both ~1e-12 from exact


def test_blow_up_is_reported_with_its_time():
    problem = kf.make_problem(params(), 32)
    with pytest.raises(BlowUpError) as err, np.errstate(over="ignore", invalid="ignore"):
        kf.march(problem, 0.05, np.linspace(0.2, 2.0, 10), lambda i, w: w, progress=False)
    assert 0 < err.value.t <= 2.0


def test_quick_dataset_contract(tmp_path):
    path = generate("kolmogorov", tmp_path, quick=True, progress=False)
    data = read_h5(path)
    t, x, y = data.coords["t"], data.coords["x"], data.coords["y"]
    assert t[0] > 0 and t[-1] == 2.0  # t = 0 is not an output
    for name in ("u", "v", "w"):
        assert data[name].shape == (t.size, y.size, x.size)
        assert np.all(np.isfinite(data[name]))
        np.testing.assert_array_equal(data[name][:, -1], data[name][:, 0])  # periodic: endpoint repeats
        np.testing.assert_array_equal(data[name][:, :, -1], data[name][:, :, 0])
    # w = v_x - u_y on the output grid (64 distinct points resolve the dealiased fields exactly)
    grid = PeriodicGrid((x.size - 1, y.size - 1), (1.0, 1.0), (0.0, 0.0))
    ky, kx = grid.wavenumbers()
    u_hat, v_hat = grid.to_spectral(np.stack([data["u"][-1, :-1, :-1], data["v"][-1, :-1, :-1]]))
    curl = grid.to_physical(1j * kx * v_hat - 1j * ky * u_hat)
    w = data["w"][-1, :-1, :-1]
    np.testing.assert_allclose(curl, w, atol=1e-9 * np.max(np.abs(w)))
    est = data.solver["error_estimate"]
    assert est["time"] > 0 and est["space_tail"] > 0 and data.solver["initial_data"]["seed"] == 0
    assert data.params["nu"] == 1e-4 and data.solver["re"] == 1e4


@pytest.mark.slow
def test_time_convergence_is_fourth_order_and_the_estimate_tracks_the_error():
    """Errors at dt, dt/2, dt/4 against dt/16 fall with slope 4 +- 0.3; the estimate the solver reports,
    |q(dt) - q(1.5 dt)| / (1.5^4 - 1), is within a factor 2 of the true error of the dt run."""
    problem = kf.make_problem(params(nu=2e-3), 64)
    t_out = np.array([0.25, 0.5])
    keep = lambda i, w: physical(problem, w)  # noqa: E731
    steps = (1e-2, 7.5e-3, 5e-3, 2.5e-3, 6.25e-4)
    run = {dt: kf.march(problem, dt, t_out, keep, progress=False)[0][:, 2] for dt in steps}
    ref = run[6.25e-4]
    err = {dt: np.linalg.norm(run[dt] - ref) / np.linalg.norm(ref) for dt in steps[:4]}
    slope = np.polyfit(np.log([1e-2, 5e-3, 2.5e-3]), np.log([err[1e-2], err[5e-3], err[2.5e-3]]), 1)[0]
    assert abs(slope - 4) < 0.3, (err, slope)
    estimate = np.linalg.norm(run[5e-3] - run[7.5e-3]) / np.linalg.norm(run[5e-3]) / (1.5**4 - 1)
    assert 0.5 < estimate / err[5e-3] < 2, (estimate, err[5e-3])

def test_solve_on_outputs_starting_at_their_spacing():
    """The default layout t = dt_out, 2 dt_out, ... (one rollout from t = 0, first value dropped)."""
    bench = kf.BENCHMARK
    p, s, out = bench.settings(quick=True, n=32, nx=17, ny=17)
    coords = {**bench.coords(out), "t": np.array([0.1, 0.2, 0.3])}
    fields, info = kf.solve(p, s, coords, progress=False)
    assert fields["w"].shape == (3, 17, 17) and len(info["energy"]) == 3
    assert info["error_estimate"]["time"] > 0
    # the first output is t = 0.1, not the initial field
    initial = kf.make_problem(p, 32)
    w0 = initial.grid.evaluate_uniform(initial.u0_hat, (17, 17))
    assert np.linalg.norm(fields["w"][0] - w0) > 1e-3 * np.linalg.norm(w0)


def test_unstable_error_check_companion_is_reported_not_fatal(monkeypatch):
    monkeypatch.setattr(kf, "_RATIO", 12.0)  # a companion step 12x longer is far past the stability limit
    bench = kf.BENCHMARK
    p, s, out = bench.settings(quick=True, n=32, nt=3, nx=17, ny=17)
    with np.errstate(over="ignore", invalid="ignore"):
        fields, info = kf.solve(p, s, bench.coords(out), progress=False)
    assert np.all(np.isfinite(fields["w"]))
    assert info["error_estimate"]["time"] is None and "blew up" in info["error_estimate"]["time_note"]
