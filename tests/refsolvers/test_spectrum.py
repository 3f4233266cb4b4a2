"""Shell-summed energy spectra (refsolvers.spectrum, docs/design.md section 10)."""

import numpy as np
import pytest

from refsolvers.spectrum import departure_wavenumber, energy_spectrum, plot_spectra, velocity_spectrum


def periodic_grid(n, endpoint=True):
    """Unit-box coordinates (y, x) meshes: n + 1 points with the repeated endpoint, or n without."""
    x = np.linspace(0, 1, n + 1) if endpoint else np.arange(n) / n
    return np.meshgrid(x, x, indexing="ij")


@pytest.mark.parametrize("kappa, shell", [((0, 3), 3), ((4, 3), 5), ((1, 1), 1), ((2, 2), 3), ((-5, 2), 5)])
def test_single_mode_lands_in_its_shell_with_its_energy(kappa, shell):
    y, x = periodic_grid(32)
    amp = 1.7
    f = amp * np.cos(2 * np.pi * (kappa[1] * x + kappa[0] * y) + 0.3)
    k, e = energy_spectrum(f)
    expected = np.zeros_like(e)
    expected[shell] = amp**2 / 4  # two coefficients of size amp/2, each 1/2 |.|^2
    np.testing.assert_allclose(e, expected, rtol=0, atol=1e-14)  # round-off of an FFT of O(1) values
    assert k[shell] == shell


def test_parseval_sum_of_shells_is_half_the_mean_square():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((48, 48)) + 0.4
    _, e = energy_spectrum(f, drop_endpoint=False)
    np.testing.assert_allclose(e.sum(), 0.5 * np.mean(f**2), rtol=1e-13)  # exact identity, round-off only
    np.testing.assert_allclose(e[0], 0.5 * np.mean(f) ** 2, rtol=1e-13)  # the k = 0 shell holds the mean alone
    np.testing.assert_allclose(e[1:].sum(), 0.5 * np.var(f), rtol=1e-12)


def test_random_field_recovers_prescribed_spectrum():
    """A Gaussian field with E[1/2 |f_hat|^2] = E(k)/N_k per mode: each shell sum is E(k) (1 +- sqrt(2/N_k)).

    A shell of N_k modes holds N_k/2 independent complex Gaussian coefficients (Hermitian pairs), so its
    sum is a Gamma variable with mean E(k) and relative standard deviation sqrt(2/N_k) (about
    1/sqrt(pi k)). We allow 5 of those per shell (k >= 4, so N_k >= 24 and the Gamma is near normal),
    and 5 standard errors for the mean of the ratios over all shells.
    """
    n = 128
    rng = np.random.default_rng(1)
    kappa = np.hypot(*np.meshgrid(np.fft.fftfreq(n, 1 / n), np.fft.fftfreq(n, 1 / n), indexing="ij"))
    shell = np.floor(kappa + 0.5).astype(int)
    counts = np.bincount(shell.ravel())
    k = np.arange(counts.size)
    target = (1.0 + k) ** -3.0  # a power law: no shell falls to round-off level
    noise_hat = np.fft.fft2(rng.standard_normal((n, n))) / n  # unit variance per coefficient, Hermitian
    f_hat = noise_hat * np.sqrt(2 * target[shell] / counts[shell])
    f = np.fft.ifft2(f_hat * n**2).real  # so that fft2(f) / n^2 = f_hat
    _, e = energy_spectrum(f, drop_endpoint=False)
    shells = np.arange(4, n // 2)
    sigma = np.sqrt(2.0 / counts[shells])
    ratio = e[shells] / target[shells]
    assert np.all(np.abs(ratio - 1) < 5 * sigma), np.max(np.abs(ratio - 1) / sigma)
    assert abs(np.mean(ratio) - 1) < 5 * np.sqrt(np.mean(sigma**2) / shells.size)


def test_band_limited_field_has_same_spectrum_on_every_resolving_grid():
    rng = np.random.default_rng(2)
    modes = [(int(a), int(b), rng.standard_normal(), rng.uniform(0, 2 * np.pi))
             for a, b in rng.integers(-10, 11, size=(12, 2))]

    def field(n):
        y, x = periodic_grid(n)
        return sum(c * np.cos(2 * np.pi * (a * y + b * x) + ph) for a, b, c, ph in modes)

    spectra = [energy_spectrum(field(n))[1] for n in (32, 64, 128)]
    for e in spectra[1:]:
        np.testing.assert_allclose(e[:spectra[0].size], spectra[0], rtol=0, atol=1e-13)  # round-off
        assert np.all(np.abs(e[spectra[0].size:]) < 1e-25)  # nothing beyond the band


def test_endpoint_convention():
    y, x = periodic_grid(16)
    f = np.sin(2 * np.pi * (2 * x + y)) + 0.5 * np.cos(2 * np.pi * 3 * y)
    y0, x0 = periodic_grid(16, endpoint=False)
    f0 = np.sin(2 * np.pi * (2 * x0 + y0)) + 0.5 * np.cos(2 * np.pi * 3 * y0)
    np.testing.assert_allclose(energy_spectrum(f)[1], energy_spectrum(f0, drop_endpoint=False)[1], atol=1e-15)
    with pytest.raises(ValueError, match="drop_endpoint=False"):
        energy_spectrum(f0)  # no repeated endpoint: refusing beats silently dropping a row of data


def test_length_scales_the_wavenumbers_only():
    f = np.random.default_rng(3).standard_normal((16, 16))
    k1, e1 = energy_spectrum(f, drop_endpoint=False)
    k2, e2 = energy_spectrum(f, length=2 * np.pi, drop_endpoint=False)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(k2, k1 / (2 * np.pi))


def test_velocity_spectrum_sums_components():
    y, x = periodic_grid(32)
    u = np.sin(2 * np.pi * 2 * y)
    v = 2 * np.cos(2 * np.pi * 3 * x)
    _, e = velocity_spectrum(u, v)
    np.testing.assert_allclose(e[[2, 3]], [0.25, 1.0], atol=1e-14)
    np.testing.assert_allclose(e.sum(), 0.5 * np.mean(u[:-1, :-1] ** 2 + v[:-1, :-1] ** 2), rtol=1e-13)


def test_departure_wavenumber():
    k = np.arange(40.0)
    ref = (1.0 + k) ** -3.0
    other = ref * np.where(k >= 7, 1.2, 1.05)
    assert departure_wavenumber(k, other, ref) == 7
    assert departure_wavenumber(k, ref, ref) is None
    noisy = ref.copy()
    noisy[30:] = 1e-30  # both at round-off level there
    assert departure_wavenumber(k, noisy, ref, floor=1e-3) is None
    assert departure_wavenumber(k, noisy, ref) == 30


def test_plot_spectra_writes_png(tmp_path):
    k = np.arange(20.0)
    path = plot_spectra({"a": (k, (1 + k) ** -2.0), "b": (k, (1 + k) ** -3.0)}, tmp_path / "s.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
