"""Linear stability of a motionless Boussinesq layer between no-slip walls (a check on the Rayleigh-Taylor solver).

An independent discretisation of the linearised equations of `refsolvers.pde.rayleigh_taylor` (its time
stepper does not enter): the 4th-order streamfunction form, Chebyshev collocation, psi = psi_y = 0 and
theta = 0 at the walls imposed by row replacement, solved as a generalised eigenproblem.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from .. import _chebyshev as cheb


def growth_rate(nu: float, kappa: float, k: float, base_t, n_cheb: int, height: float) -> tuple:
    """Growth rate of the most unstable mode e^{ikx + sigma t} about the motionless state T = base_t(y).

    Solves, on y in [0, height] (Chebyshev degree `n_cheb`), with psi = psi_y = 0 and theta = 0 at the walls::

        sigma (D2 - k^2) psi = nu (D2 - k^2)^2 psi - i k theta,
        sigma theta = kappa (D2 - k^2) theta + i k T'(y) psi.

    Args:
        nu, kappa: viscosity and diffusivity (non-dimensional).
        k: angular wavenumber in x.
        base_t: callable y -> T(y), or values at the degree-`n_cheb` nodes on [0, height].
        n_cheb: Chebyshev degree.
        height: channel height.
    Returns:
        (sigma, eigenvector (psi, theta) at the nodes) for the eigenvalue of largest real part.
    """
    y = cheb.nodes(n_cheb, 0.0, height)
    d = cheb.differentiation_matrix(n_cheb, 0.0, height)
    tb = np.asarray(base_t(y) if callable(base_t) else base_t, float)
    eye = np.eye(n_cheb + 1)
    lap = d @ d - k**2 * eye
    a = np.block([[nu * lap @ lap, -1j * k * eye], [1j * k * np.diag(d @ tb), kappa * lap]])
    b = np.block([[lap, 0 * eye], [0 * eye, eye]]).astype(complex)
    top = n_cheb
    for row, vals in ((0, eye[0]), (top, eye[top]), (1, d[0]), (top - 1, d[top])):  # psi = psi_y = 0
        a[row] = 0.0
        b[row] = 0.0
        a[row, : n_cheb + 1] = vals
    for row in (n_cheb + 1, 2 * n_cheb + 1):  # theta = 0
        a[row] = 0.0
        b[row] = 0.0
        a[row, row] = 1.0
    with threadpool_limits(limits=1, user_api="blas"):
        sig, vec = scipy.linalg.eig(a, b)
    finite = np.isfinite(sig) & (np.abs(sig) < 1e6)
    i = np.flatnonzero(finite)[np.argmax(sig[finite].real)]
    return complex(sig[i]), vec[:, i]
