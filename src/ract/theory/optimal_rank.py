"""The noise-aware optimal rank r* = c * (n / (d (1 + eta)))^(1 / (2 alpha + 1)) and its ingredients.

* n: training examples; d: width of the adapted weights; eta: label-noise rate in [0, 1);
* alpha: spectral decay exponent of the useful update, sigma_i ~ i^-alpha (estimated from trained adapters
  with :func:`estimate_alpha_from_model`);
* c: a constant the theory leaves open. It is fixed once per model family from the noise-free best rank
  (:func:`calibrate_c`); the formula then predicts how r* moves with eta (and n).

The bias-variance reading: a higher rank captures more of the decaying spectrum (bias ~ r^-2alpha) but fits
more noise (variance ~ r d (1 + eta) / n); balancing the two gives the exponent 1 / (2 alpha + 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ract.errors import RactError

DEFAULT_RANK_CHOICES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)


def _check_inputs(n: float, d: float, eta: float, alpha: float) -> None:
    if not n > 0:
        raise RactError(f"number of training examples n must be positive, got {n}")
    if not d > 0:
        raise RactError(f"dimension d must be positive, got {d}")
    if not 0 <= eta < 1:
        raise RactError(f"noise rate eta must be in [0, 1), got {eta}")
    if not alpha > 0:
        raise RactError(f"spectral decay alpha must be positive, got {alpha}")


def optimal_rank(n: int, d: int, eta: float, alpha: float, c: float = 1.0) -> float:
    """r* = c * (n / (d * (1 + eta))) ** (1 / (2 * alpha + 1)), a (real-valued) LoRA rank.

    Args:
        n: training examples (> 0).
        d: width of the adapted weight matrices (features, > 0).
        eta: label-noise rate, a fraction in [0, 1).
        alpha: spectral decay exponent (> 0, dimensionless).
        c: scale constant (> 0), see :func:`calibrate_c`.
    """
    _check_inputs(n, d, eta, alpha)
    if not c > 0:
        raise RactError(f"constant c must be positive, got {c}")
    return c * (n / (d * (1.0 + eta))) ** (1.0 / (2.0 * alpha + 1.0))


def calibrate_c(measured_best_rank: float, n: int, d: int, eta: float, alpha: float) -> float:
    """The c for which :func:`optimal_rank` equals ``measured_best_rank`` at one reference point.

    c is fixed once per model family from the noise-free best rank (reference point eta = 0: the best rank
    found by a sweep on clean labels); then the formula predicts how r* moves with eta. Calibrating at a
    noisy point also works, the formula is just inverted there.

    Args:
        measured_best_rank: best rank found by a sweep at (n, d, eta) (> 0).
        n, d, eta, alpha: the reference point, as in :func:`optimal_rank`.

    Returns:
        c (dimensionless, > 0).
    """
    if not measured_best_rank > 0:
        raise RactError(f"measured best rank must be positive, got {measured_best_rank}")
    return measured_best_rank / optimal_rank(n, d, eta, alpha, c=1.0)


def recommend_rank(
    n: int,
    d: int,
    eta: float,
    alpha: float,
    c: float = 1.0,
    choices: Sequence[int] = DEFAULT_RANK_CHOICES,
) -> int:
    """The rank in ``choices`` nearest to r* on a log scale.

    Ties go to the smaller rank (the more noise-robust one). Arguments as in :func:`optimal_rank`.
    """
    if not choices or any(int(r) <= 0 for r in choices):
        raise RactError(f"rank choices must be a non-empty list of positive integers, got {list(choices)}")
    target = math.log(optimal_rank(n, d, eta, alpha, c))
    return min(sorted(int(r) for r in choices), key=lambda r: abs(math.log(r) - target))


def estimate_alpha(singular_values: np.ndarray, rtol: float = 1e-6) -> tuple[float, float]:
    """Spectral decay exponent alpha of sigma_i ~ i^-alpha, by least squares of log sigma_i on log i.

    The values are sorted descending and indexed i = 1..m; values <= ``rtol * sigma_1`` count as zero
    (float32 round-off) and are dropped, together with everything after them.

    Args:
        singular_values: (m,) singular values (any units; only ratios matter).
        rtol: relative threshold below which a value counts as zero.

    Returns:
        ``(alpha, r_squared)``: the negated slope (dimensionless; > 0 for a decaying spectrum) and the
        coefficient of determination of the log-log fit in [0, 1] (1.0 for an exact power law).
    """
    s = np.sort(np.asarray(singular_values, dtype=np.float64).ravel())[::-1]
    if s.size == 0 or not s[0] > 0:
        raise RactError("estimate_alpha needs at least 3 positive singular values, got none")
    keep = s > rtol * s[0]
    m = int(np.argmin(keep)) if not keep.all() else s.size
    if m < 3:
        raise RactError(f"estimate_alpha needs at least 3 positive singular values, got {m}")
    x = np.log(np.arange(1, m + 1, dtype=np.float64))
    y = np.log(s[:m])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r_squared = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return float(-slope), r_squared


def _lora_delta_singular_values(module: nn.Module, adapter: str) -> np.ndarray:
    """Singular values of scaling * B @ A for one peft LoRA layer, (r,) float, descending.

    Computed without forming the d x k product: with B = Q_B R_B and A^T = Q_A R_A (thin QR), the product is
    Q_B (R_B R_A^T) Q_A^T, so its nonzero singular values are those of the r x r matrix R_B R_A^T.
    """
    b = module.lora_B[adapter].weight.detach().to(torch.float32)  # (d, r)
    a = module.lora_A[adapter].weight.detach().to(torch.float32)  # (r, k)
    scaling = float(module.scaling[adapter])
    r_b = torch.linalg.qr(b, mode="r").R
    r_a = torch.linalg.qr(a.T, mode="r").R
    values = torch.linalg.svdvals(r_b @ r_a.T) * abs(scaling)
    return values.cpu().numpy()


def lora_singular_values(model: nn.Module, adapter: str = "default") -> dict[str, np.ndarray]:
    """Singular values of every LoRA update delta W = scaling * B @ A in ``model``.

    A module counts as a LoRA layer when it has ``lora_A`` and ``lora_B`` ModuleDicts holding ``adapter`` (as
    peft's ``LoraLayer``); B is ``lora_B[adapter].weight`` (d x r), A is ``lora_A[adapter].weight`` (r x k).

    Returns:
        module name -> (min(r, d, k),) float32 singular values, descending, in the units of the weights.
        A freshly initialised peft adapter has B = 0, hence all-zero values.
    """
    out: dict[str, np.ndarray] = {}
    for name, module in model.named_modules():
        lora_a, lora_b = getattr(module, "lora_A", None), getattr(module, "lora_B", None)
        if not (isinstance(lora_a, nn.ModuleDict) and isinstance(lora_b, nn.ModuleDict)):
            continue
        if adapter in lora_a and adapter in lora_b:
            out[name] = _lora_delta_singular_values(module, adapter)
    if not out:
        raise RactError(f"no LoRA layers with adapter {adapter!r} in {type(model).__name__}")
    return out


def estimate_alpha_from_model(model: nn.Module, adapter: str = "default") -> tuple[float, float]:
    """Mean over LoRA modules of the per-module :func:`estimate_alpha` fit.

    Each module's spectrum is fitted on its own (so per-module scale does not matter) and the exponents and
    R^2 are averaged with equal weight. Modules with fewer than 3 positive singular values (rank < 3, or an
    untrained adapter) are skipped; if none is left, :class:`RactError`.

    Returns:
        ``(alpha, r_squared)``, both means over the fitted modules.
    """
    fits = []
    for values in lora_singular_values(model, adapter).values():
        try:
            fits.append(estimate_alpha(values))
        except RactError:
            continue
    if not fits:
        raise RactError(
            "cannot estimate alpha: no LoRA module has 3 or more positive singular values "
            "(use rank >= 3 and a trained adapter)"
        )
    alphas, r2s = zip(*fits, strict=True)
    return float(np.mean(alphas)), float(np.mean(r2s))
