"""Optimizers and multi-loss balancing for PINNs, as optax transformations.

- :func:`soap` / :func:`scale_by_soap`: SOAP with the reference implementation's semantics.
- :func:`autobalance` (+ :func:`auto_adam`, :func:`auto_adamw`, :func:`auto_soap`): one optimizer
  state per loss term, updates summed; :func:`per_term_grads` gives the per-term gradients.
- :func:`balance` with a rule from :data:`RULES`: the weighting / gradient-surgery baselines;
  :data:`BALANCERS` gives every multi-term method (AutoBalance included) as
  ``BALANCERS[name](make_opt, n_terms)``.
- :func:`bfgs`, :func:`ssbfgs`, :func:`ssbroyden` (dense inverse Hessian, self-scaled updates) and
  :func:`lbfgs`, each with a strong-Wolfe line search; :func:`restart_pairs` after a resample.
- :func:`levenberg_marquardt` (dense Cholesky or matrix-free CG, Nielsen's damping rule) for losses that are
  sums of squared residuals; :func:`restart_damping` after a resample.
- :func:`rba_update`: residual-based attention weights, one per collocation point.
- :func:`alignment_score` and friends: the gradient alignment score of the SOAP-for-PINNs paper.
"""

from pinns.optim._alignment import (
    alignment_score,
    inter_step_alignment,
    intra_step_alignment,
    tree_gram,
)
from pinns.optim._autobalance import (
    AutoBalanceState,
    auto_adam,
    auto_adamw,
    auto_soap,
    autobalance,
    block_term_grads,
    jacobian_norms,
    per_term_grads,
    term_jacobian,
)
from pinns.optim._balancing import (
    BALANCERS,
    RULES,
    BalanceState,
    Rule,
    RuleInputs,
    balance,
    combine,
    config_weights,
    dwa_weights,
    equal_weights,
    grad_norm_weights,
    imtlg_weights,
    mgda_weights,
    ntk_trace,
    ntk_weights,
    pcgrad_weights,
    refresh_weights,
)
from pinns.optim._gauss_newton import (
    LevenbergMarquardtState,
    gram,
    levenberg_marquardt,
    lm_trial,
    nielsen_damping,
    restart_damping,
)
from pinns.optim._quasi_newton import (
    QN_METHODS,
    QuasiNewtonState,
    bfgs,
    inverse_hessian_update,
    lbfgs,
    quasi_newton,
    restart_pairs,
    scale_by_quasi_newton,
    ssbfgs,
    ssbroyden,
)
from pinns.optim._rba import RBA_ETA, RBA_GAMMA, rba_update
from pinns.optim._soap import (
    DecoupledWeightDecayState,
    SoapState,
    decoupled_weight_decay,
    scale_by_soap,
    soap,
)

__all__ = [
    # SOAP
    "soap",
    "scale_by_soap",
    "SoapState",
    "decoupled_weight_decay",
    "DecoupledWeightDecayState",
    # AutoBalance
    "autobalance",
    "auto_adam",
    "auto_adamw",
    "auto_soap",
    "AutoBalanceState",
    "per_term_grads",
    "term_jacobian",
    "block_term_grads",
    "jacobian_norms",
    # balancing baselines
    "balance",
    "BalanceState",
    "Rule",
    "RuleInputs",
    "RULES",
    "BALANCERS",
    "combine",
    "refresh_weights",
    "equal_weights",
    "grad_norm_weights",
    "ntk_weights",
    "dwa_weights",
    "pcgrad_weights",
    "imtlg_weights",
    "config_weights",
    "mgda_weights",
    "ntk_trace",
    # quasi-Newton
    "bfgs",
    "ssbfgs",
    "ssbroyden",
    "lbfgs",
    "quasi_newton",
    "scale_by_quasi_newton",
    "inverse_hessian_update",
    "restart_pairs",
    "QuasiNewtonState",
    "QN_METHODS",
    # Gauss-Newton family
    "levenberg_marquardt",
    "gram",
    "lm_trial",
    "nielsen_damping",
    "restart_damping",
    "LevenbergMarquardtState",
    # residual-based attention
    "rba_update",
    "RBA_GAMMA",
    "RBA_ETA",
    # alignment
    "alignment_score",
    "intra_step_alignment",
    "inter_step_alignment",
    "tree_gram",
]
