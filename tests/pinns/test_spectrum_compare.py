"""PINN vs reference energy spectra (`pinns.spectrum`, docs/design.md section 10): pair metrics, grid conventions, end to end."""

import json

import numpy as np
import pytest

import refsolvers
from pinns.spectrum import (DEFAULT_GRIDS, _read_reference, compare_pair, comparison_figure, field_spectrum,
                            solve_estimate, spectrum_comparison)
from refsolvers.spectrum import energy_spectrum

N_DATA = 32  # tiny Kolmogorov dataset (quick settings, solver grid 32, output 33 x 33, 5 times)


def band_limited(y, x, k_top: int, seed: int = 0, decay: float = 1.0):
    """Random-phase trigonometric field with all wavevectors |kappa_x|, |kappa_y| <= k_top, amplitude |kappa|^-decay,
    summed at the points (y, x) (any grid)."""
    rng = np.random.default_rng(seed)
    f = np.zeros(np.broadcast(y, x).shape)
    for ky in range(0, k_top + 1):
        for kx in range(-k_top, k_top + 1):
            if (ky, kx) <= (0, 0):
                continue
            amp = np.hypot(kx, ky) ** -decay
            f += amp * np.cos(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
    return f


def periodic(n):
    g = np.arange(n) / n
    return np.meshgrid(g, g, indexing="ij")


def with_endpoint(n):
    g = np.linspace(0, 1, n + 1)
    return np.meshgrid(g, g, indexing="ij")


# ----------------------------------------------------------------------------- pair metrics


@pytest.fixture(scope="module")
def kolmogorov_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kolmogorov")
    refsolvers.generate("kolmogorov", folder, quick=True, progress=False, n=N_DATA, nx=N_DATA + 1, ny=N_DATA + 1,
                        error_check=False)
    return folder


def test_reference_against_itself_is_identical(kolmogorov_data):
    t = float(refsolvers.read_h5(kolmogorov_data / "kolmogorov.h5").coords["t"][-1])
    values = _read_reference(kolmogorov_data / "kolmogorov.h5", ("w", "u", "v"), [t])[t]
    for field in ("w", "velocity"):
        k, e = field_spectrum(values, field, 1.0, drop_endpoint=True)
        _, again = field_spectrum(values, field, 1.0, drop_endpoint=True)
        np.testing.assert_array_equal(e, again)
        pair = compare_pair(k, e, again, N_DATA)
        assert pair["departure_k"] is None and pair["high_k_ratio"] == 1.0 and pair["k_max"] == N_DATA / 2


def test_band_limited_field_has_the_same_spectrum_on_every_resolving_grid():
    """Modes up to 5 (shells up to 5 sqrt 2 ~ 7): grids from 16 up agree, in both grid conventions
    (n x n periodic points for the PINN, (n + 1)^2 with the repeated endpoint for the references)."""
    y, x = periodic(128)
    k, fine = energy_spectrum(band_limited(y, x, 5), drop_endpoint=False)
    assert fine[7] > 0 and np.all(fine[8:] < 1e-25 * fine.max())
    for n in (16, 32, 64):
        _, e = energy_spectrum(band_limited(*periodic(n), 5), drop_endpoint=False)
        _, e_end = energy_spectrum(band_limited(*with_endpoint(n), 5), drop_endpoint=True)
        np.testing.assert_allclose(e_end, e, rtol=1e-10, atol=1e-14 * fine.max())
        np.testing.assert_allclose(e[:8], fine[:8], rtol=1e-10, atol=1e-14 * fine.max())
        pair = compare_pair(k, e, fine, n)
        assert pair["departure_k"] is None
        if n == 16:  # shells 5 ... 7 above k_max / 2 = 4
            assert pair["high_k_ratio"] == pytest.approx(1.0, rel=1e-10)
        else:  # nothing above k_max / 2 but round-off
            assert pair["high_k_ratio"] is None


def test_under_resolved_field_shows_the_high_k_deficit():
    """A broadband field (modes up to 40) held as a 2/3-dealiased spectral solver at n = 32 holds it
    (modes |kappa_x|, |kappa_y| < 32/3 only): equal up to the cut-off, energy missing above it."""
    rng = np.random.default_rng(1)
    f_hat = np.zeros((128, 128), complex)
    for ky in range(0, 41):
        for kx in range(-40, 41):
            if (ky, kx) > (0, 0):
                f_hat[ky, kx] = np.hypot(kx, ky) ** -1.5 * np.exp(2j * np.pi * rng.uniform()) * 128**2 / 2
                f_hat[-ky, -kx] = np.conj(f_hat[ky, kx])
    field = np.real(np.fft.ifft2(f_hat))
    kappa = np.fft.fftfreq(128, 1 / 128)
    keep = (np.abs(kappa)[:, None] < 32 / 3) & (np.abs(kappa)[None, :] < 32 / 3)
    coarse_on_fine = np.real(np.fft.ifft2(f_hat * keep))
    coarse = coarse_on_fine[::4, ::4]  # the truncated field sampled on its own 32 x 32 grid: exact
    k, e_fine = energy_spectrum(field, drop_endpoint=False)
    _, e_coarse = energy_spectrum(coarse, drop_endpoint=False)
    np.testing.assert_allclose(e_coarse[1:11], e_fine[1:11], rtol=1e-10)  # shells inside the kept square
    pair = compare_pair(k, e_coarse, e_fine, 32)
    assert pair["departure_k"] == 11.0  # first shell with corners cut by the 2/3 square (|kappa| = 10.5 ... 11.5)
    assert pair["high_k_ratio"] < 0.5
    # pointwise sampling of the same under-resolved field instead folds the high modes back (an excess)
    _, e_sampled = energy_spectrum(field[::4, ::4], drop_endpoint=False)
    assert compare_pair(k, e_sampled, e_fine, 32)["high_k_ratio"] > 1.0


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def run_dir(kolmogorov_data, tmp_path_factory):
    """A run folder written by the trainer's own Run (config.json + checkpoint.npz) for a tiny MLP at step 0.

    No optimisation steps (compiling Kolmogorov's training step costs ~40 s on one core); the output layer is
    still fitted to the initial vorticity data by the PirateNet-style least-squares initialisation, so the
    network is the trainer's, restored by `pinns.eval.open_run` like any run's.
    """
    from pinns.problems import get_problem
    from pinns.config import CONFIG_FILE, make_config
    from pinns.run import Run

    problem = get_problem("kolmogorov", kolmogorov_data)
    cfg = make_config(problem, "quick", data=str(kolmogorov_data), net={"arch": "mlp", "width": 16, "depth": 1},
                      windows=1, batch=64, log_alignment=False, eval_points=100)
    folder = tmp_path_factory.mktemp("run")
    run = Run(folder, problem, cfg)
    run.save(run.fresh_state())
    (folder / CONFIG_FILE).write_text(json.dumps(cfg.to_dict()))
    return folder


@pytest.fixture(scope="module")
def comparison(run_dir):
    return spectrum_comparison(run_dir, grids=(64, 32), times=[0.04, 2.0], quick=True, chunk=1024)


def test_comparison_end_to_end(run_dir, comparison):
    res = comparison
    assert res["grids"] == [32, 64] and res["times"] == [0.04, 2.0] and res["field"] == "w"
    saved = json.loads((run_dir / "spectrum.json").read_text())
    assert saved["pairs"] == res["pairs"]
    # the names the README gives: RUN_DIR/spectrum.json and one RUN_DIR/spectrum.png (a panel per time)
    assert res["json"] == str(run_dir / "spectrum.json") and res["png"] == [str(run_dir / "spectrum.png")]
    assert (run_dir / "spectrum.png").stat().st_size > 1000
    assert not list(run_dir.glob("spectrum_t*.png"))
    for key in ("0.04", "2"):
        curves = res["curves"][key]
        assert set(curves) == {"pinn_32", "ref_32", "pinn_64", "ref_64"}
        for label, c in curves.items():  # the PINN and the reference of a grid stop at the same shell, n / 2
            n = int(label.split("_")[1])
            assert len(c["k"]) == len(c["E"]) == n // 2 + 1 and np.all(np.isfinite(c["E"]))
            assert c["k"][-1] == n / 2
    pairs = {(p["time"], p["a"], p["b"]): p for p in res["pairs"]}
    assert len(pairs) == 2 * 5
    for p in res["pairs"]:
        assert p["high_k_ratio"] is not None and p["high_k_ratio"] > 0
    # the solver grid 32 equals the run's dataset: used directly; 64 solved with the quick settings
    assert res["references"]["32"]["origin"] == "dataset" and res["references"]["64"]["origin"] == "generated"
    ref32 = refsolvers.read_h5(res["references"]["32"]["path"])
    np.testing.assert_allclose(np.asarray(res["curves"]["2"]["ref_32"]["E"]),
                               energy_spectrum(ref32["w"][-1])[1][:N_DATA // 2 + 1], rtol=1e-12)
    # the PINN's spectrum at t = 0.04 (fitted to the initial data) is a smooth field's: the grids agree at low k
    c = res["curves"]["0.04"]
    np.testing.assert_allclose(c["pinn_32"]["E"][1:8], c["pinn_64"]["E"][1:8], rtol=0.05)
    # the under-resolved reference at 32 has no energy above the 2/3 cut-off, where the one at 64 has some
    assert np.sum(res["curves"]["2"]["ref_32"]["E"][16:]) < 1e-20 < np.sum(res["curves"]["2"]["ref_64"]["E"][16:23])


def test_references_are_reused_and_the_cli_prints_the_summary(run_dir, comparison, capsys):
    from pinns.cli import main

    cached = run_dir / "spectrum_refs_quick" / "n64" / "kolmogorov.h5"
    stamp = cached.stat().st_mtime_ns
    assert main(["spectrum", str(run_dir), "--grids", "32,64", "--times", "2", "--quick", "--no-progress",
                 "--out", str(run_dir / "again.json")]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "curves" not in out and out["times"] == [2.0]
    assert out["references"]["64"] == {"path": str(cached), "origin": "cache"} and cached.stat().st_mtime_ns == stamp
    # announced before any work: the grids, where each reference comes from, nothing to solve
    assert captured.err.strip().splitlines() == ["pinns spectrum: grids 32, 64; references 32: dataset; 64: cache; "
                                                 "nothing to solve"]
    assert (run_dir / "again.png").exists()
    mine = [p for p in comparison["pairs"] if p["time"] == 2.0]
    assert out["pairs"] == mine  # same network, same references: same numbers


def test_bad_input_fails_with_one_line(run_dir, tmp_path, capsys):
    from pinns.cli import main

    assert main(["spectrum", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["spectrum", str(run_dir), "--grids", "32", "--field", "p2", "--quick"]) == 2
    assert "unknown spectrum field" in capsys.readouterr().err
    with pytest.raises(ValueError, match="outside the reference times"):
        spectrum_comparison(run_dir, grids=(32,), times=[7.0], quick=True)


def test_default_grids_are_announced_with_the_expected_time_before_any_solve(kolmogorov_data, run_dir, capsys,
                                                                             monkeypatch):
    """Without --grids: small grids (the solve cost grows like n^3), printed with the expected time (the
    dataset's own solve time scaled by (n / n_dataset)^3) before the first reference is solved."""
    import h5py

    import pinns.spectrum
    from pinns.cli import main

    assert max(DEFAULT_GRIDS) <= 128
    with h5py.File(kolmogorov_data / "kolmogorov.h5") as f:
        info = json.loads(f.attrs["solver"])
    assert solve_estimate(info, 2 * N_DATA) == pytest.approx(8 * info["wall_time_s"])
    assert solve_estimate({"settings": {"n": 64}}, 128) is None

    def stop(*args, **kwargs):  # the first solve: the line must already be out
        raise KeyboardInterrupt

    monkeypatch.setattr(pinns.spectrum, "reference_file", stop)
    assert main(["spectrum", str(run_dir), "--no-progress"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"pinns spectrum: grids {', '.join(map(str, sorted(DEFAULT_GRIDS)))}; references ")
    todo = [n for n in DEFAULT_GRIDS if f"{n}: to solve" in err[0]]
    assert todo  # the full-settings references of the default grids are not cached yet
    expected = sum(solve_estimate(info, n) for n in todo)
    assert f"expected solve time about {pinns.spectrum._duration(expected)} " in err[0]
    assert err[1].startswith("pinns: error: interrupted; finished reference grids")


def test_wavenumber_axis_label_names_the_box(comparison):
    curves = {key: {label: (c["k"], c["E"]) for label, c in panel.items()} for key, panel in comparison["curves"].items()}
    fig = comparison_figure(curves, "title", length=1.0)
    assert len(fig.axes) == 2  # a panel per time
    for ax in fig.axes:
        assert ax.get_xlabel() == "wavenumber k (units of 2π/L, L = 1)" and "2π/1" not in ax.get_xlabel()
