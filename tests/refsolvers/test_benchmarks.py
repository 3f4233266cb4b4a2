"""Registry sweep, HDF5 contract, invariants and the stored error estimates (quick settings)."""

import json
import os
import stat

import h5py
import numpy as np
import pytest

import refsolvers
from refsolvers import BENCHMARKS, generate, read_h5
from refsolvers._spectral import make_problem, march, relative_l2

SPECTRAL_1D = ["allen_cahn", "kdv", "ks"]


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    for name in BENCHMARKS:
        generate(name, out, quick=True, progress=False)
    return out


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_quick_dataset_follows_the_contract(name, quick_dir):
    bench = BENCHMARKS[name]
    path = quick_dir / f"{name}.h5"
    with h5py.File(path, "r") as f:
        assert f.attrs["schema"] == "refsolvers/1"
        assert f.attrs["benchmark"] == name
        params = json.loads(f.attrs["params"])
        solver = json.loads(f.attrs["solver"])
        assert set(bench.params) <= set(params)
        assert "error_estimate" in solver and np.isfinite(solver["error_estimate"]["total"])
        for key in ("equation", "created", "version"):
            assert f.attrs[key]
        dims = [d for d in ("t", "y", "x") if d in bench.output]
        for field in bench.fields:
            ds = f[field]
            assert ds.dtype == np.float64
            assert ds.attrs["dims"] == ",".join(dims)
            assert np.isfinite(ds[()]).all()
            for axis, dim in enumerate(dims):
                assert ds.dims[axis][0].name == f"/{dim}"  # dimension scale attached (xarray-readable)
                assert ds.shape[axis] == f[dim].shape[0]
    data = read_h5(path)
    coords = bench.coords(bench.settings(quick=True)[2])
    for dim in coords:
        np.testing.assert_array_equal(data.coords[dim], coords[dim])


def test_round_trip(tmp_path):
    coords = {"t": np.linspace(0, 1, 3), "x": np.linspace(0, 1, 5)}
    field = np.random.default_rng(0).normal(size=(3, 5))
    path = refsolvers.write_h5(tmp_path / "demo.h5", "demo", coords, {"u": field}, {"nu": 0.1},
                               {"method": "test", "error_estimate": {"total": 0.0}}, "u_t = 0")
    data = read_h5(path)
    np.testing.assert_array_equal(data["u"], field)
    assert data.params == {"nu": 0.1} and data.solver["method"] == "test" and data.benchmark == "demo"


def test_write_is_atomic_and_world_readable(tmp_path):
    coords = {"t": np.linspace(0, 1, 3), "x": np.linspace(0, 1, 5)}
    args = ("demo", coords, {"u": np.ones((3, 5))}, {"nu": 0.1}, {"method": "test"}, "u_t = 0")
    path = refsolvers.write_h5(tmp_path / "demo.h5", *args)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600
    before = path.read_bytes()
    with pytest.raises(ValueError, match="has 1 axes"):  # a failed write leaves the old file and no debris
        refsolvers.write_h5(path, "demo", coords, {"u": np.ones(3)}, {}, {}, "")
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["demo.h5"]


def test_reader_refuses_foreign_files(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["u"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a refsolvers dataset"):
        read_h5(path)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        read_h5(text)


def test_periodic_output_repeats_the_first_point(quick_dir):
    data = read_h5(quick_dir / "ks.h5")
    # exact trigonometric evaluation: x = 0 and x = 2 pi are the same point of the periodic solution
    np.testing.assert_allclose(data["u"][:, 0], data["u"][:, -1], atol=1e-12)


def _trajectory(name, n, dt, t_end, nt=11, nx=64):
    bench = BENCHMARKS[name]
    problem = make_problem(bench, n, dealias=False)
    x0, x1, _ = bench.output["x"]
    values, *_ = march(problem, dt, np.linspace(0, t_end, nt), (np.linspace(x0, x1, nx),), progress=False)
    return problem, values[:, 0]


def _spectral_states(name, n, dt, n_steps, every):
    """Fourier states of benchmark `name` every `every` steps (to test invariants exactly)."""
    bench = BENCHMARKS[name]
    problem = make_problem(bench, n, dealias=False)
    stepper = refsolvers.ETDRK4(problem.linear, problem.nonlinear, dt)
    u, states = problem.u0_hat, [problem.u0_hat]
    for i in range(1, n_steps + 1):
        u = stepper.step(u)
        if i % every == 0:
            states.append(u)
    return np.array(states)[:, 0]


def _mean_and_energy(u_hat):
    n = 2 * (u_hat.shape[-1] - 1)
    weights = np.full(u_hat.shape[-1], 2.0)
    weights[0] = 1.0
    mean = u_hat[:, 0].real / n
    energy = (weights * np.abs(u_hat) ** 2).sum(axis=1) / n**2  # Parseval: mean of u^2
    return mean, energy


def test_kdv_invariants():
    """KdV conserves the mean exactly (the k=0 mode) and the mean of u^2 to the scheme's order."""
    mean, energy = _mean_and_energy(_spectral_states("kdv", 512, 2e-5, 15000, 1500))
    assert np.max(np.abs(mean - mean[0])) < 1e-14  # round-off: the mean mode is untouched
    # dt^4 time error ~ 1e-12 at dt = 2e-5; the unde-aliased product adds round-off-level drift
    assert np.max(np.abs(energy - energy[0])) / energy[0] < 1e-9


def test_ks_mean_is_conserved():
    mean, _ = _mean_and_energy(_spectral_states("ks", 128, 1e-4, 5000, 500))
    assert np.max(np.abs(mean - mean[0])) < 1e-13


def test_allen_cahn_stays_in_bounds():
    _, u = _trajectory("allen_cahn", 512, 1e-3, 1.0)
    assert np.abs(u).max() < 1 + 1e-6  # maximum principle of Allen-Cahn (|u0| <= 1)


def test_time_error_estimate_is_honest():
    """The stored 2dt-companion estimate bounds the true time error (checked against dt/4)."""
    name, n, dt, t_end = "allen_cahn", 256, 4e-3, 1.0
    _, u = _trajectory(name, n, dt, t_end)
    _, u2 = _trajectory(name, n, 2 * dt, t_end)
    _, u_ref = _trajectory(name, n, dt / 8, t_end)
    estimate = relative_l2(u, u2) / 15
    actual = relative_l2(u, u_ref)
    # fourth order: estimate and actual agree within a factor 3 in the asymptotic regime
    assert actual / 3 < estimate < 3 * actual, (estimate, actual)
