"""Turning noise scores into flags: automatic (no oracle), confident learning, a given noise rate, or a fixed score.

``auto`` fits a two-component Gaussian mixture to the (log-transformed) scores, as Arazo et al. (2019,
"Unsupervised label noise modeling and loss correction") do with per-example losses: the component with the
higher mean models the mislabelled examples. Examples are flagged from the lowest score (above the clean
component's mean) whose posterior probability of belonging to that component exceeds 0.5; the estimated noise
rate is the mean of that posterior.

A mixture of two Gaussians fits clean data too: it then splits the clean losses in a low and a less-low half.
With ``min_noisy_score`` (a floor) the mixture has three components, and the noisy group is every component
whose members' median score reaches the floor; when none does, nothing is flagged, and no example below the
floor is flagged. For losses in nats the pipeline's floor is :data:`EVEN_ODDS_LOSS`, log(2): a mislabelled
example's given label gets at most even odds. Under symmetric noise its probability is near eta/(C-1), under
pair noise at rate rho < 1/2 near rho, both below 1/2; the earlier floor log(C) (a uniform guess) is above
-log(rho) once rho > 1/C, so it missed 40% pair noise (docs/detection.md, section 2).

``row_floors`` gives each row its own floor on top of the mixture's: a row is flagged only if its score also
reaches it. The pipeline passes :func:`pair_floors` for loss scores: +inf where the model predicts the given label
(such a row is never flagged), and where it predicts another class k, a cut between the loss of a kept class-k
label and of a class-k label flipped to the given one, from the class-to-class noise the model has learned
(docs/detection.md, section 2). For other scores it passes +inf / -inf (predicted as given / not).

``confident`` is confident learning (Northcutt et al. 2021) through cleanlab's ``find_label_issues``: per-class
thresholds and the confident joint count how many rows of each given class belong to each other class, and that
many are flagged per pair of classes. It models class-to-class (pair) noise, which the mixture alone does not; it
needs class probabilities instead of scores (:func:`confident_learning`) and the ``cleanlab`` extra, and it flags
some rows even on clean labels (docs/detection.md, section 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ract.errors import RactError

EVEN_ODDS_LOSS = math.log(2)  # nats: the loss of a label given probability 1/2, the floor for loss scores


@dataclass
class ThresholdResult:
    """Flags and how they were decided.

    Attributes:
        flagged: (n,) bool, True = probably mislabelled.
        threshold: the score above which examples are flagged.
        estimated_noise_rate: the fraction of mislabelled examples the rule believes there are.
        rule: the rule as given (``"auto"``, ``"rate:0.3"``, ``"1.5"``).
        noisy_posterior: (n,) mixture posterior of the noisy component (``auto`` only), else None.
        warning: set when the rule's result looks unreliable (e.g. the mixture says most labels are wrong).
    """

    flagged: np.ndarray
    threshold: float
    estimated_noise_rate: float
    rule: str
    noisy_posterior: np.ndarray | None = None
    warning: str | None = None


def parse_threshold(rule: str | float) -> tuple[str, float | None]:
    """Validate a threshold rule: ``"auto"``, ``"confident"``, ``"rate:R"`` with 0 <= R < 1, or a number."""
    if isinstance(rule, int | float):
        return "value", float(rule)
    text = str(rule).strip().lower()
    if text in ("auto", "confident"):
        return text, None
    if text.startswith("rate:"):
        try:
            rate = float(text[5:])
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate < 1.0:
            raise RactError(f"--threshold {rule!r}: the rate must be a number in [0, 1), e.g. rate:0.3")
        return "rate", rate
    try:
        return "value", float(text)
    except ValueError:
        raise RactError(
            f"--threshold {rule!r}: use 'auto', 'confident', 'rate:R' (e.g. rate:0.3) or a score value"
        ) from None


def _log_scores(scores: np.ndarray) -> np.ndarray:
    """The mixture is fitted on log(score - min + 1e-3): losses are heavy-tailed, their logs near-Gaussian."""
    return np.log(scores - scores.min() + 1e-3)


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else -np.inf


def apply_threshold(
    scores: np.ndarray,
    rule: str | float = "auto",
    seed: int = 0,
    min_noisy_score: float | None = None,
    row_floors: np.ndarray | None = None,
) -> ThresholdResult:
    """Flag examples by ``rule`` (see module docstring). ``scores``: (n,) higher = more suspicious.

    ``auto`` only: ``min_noisy_score`` is the floor described in the module docstring (None: the plain
    two-component rule); ``row_floors`` (n,), when given, each row's own floor in score units (+inf: never
    flagged); the estimated rate is capped at the fraction of rows whose score reaches it.
    """
    kind, value = parse_threshold(rule)
    if kind == "confident":
        raise RactError("the 'confident' rule needs class probabilities: call confident_learning(labels, pred_probs)")
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if kind == "value":
        flagged = scores > value
        return ThresholdResult(flagged, float(value), float(flagged.mean()) if n else 0.0, str(rule))
    if kind == "rate":
        count = int(round(value * n))
        order = np.argsort(-scores, kind="stable")
        flagged = np.zeros(n, dtype=bool)
        flagged[order[:count]] = True
        threshold = float(scores[order[count - 1]]) if count else float("inf")
        return ThresholdResult(flagged, threshold, float(value), str(rule))
    if n < 10 or np.ptp(scores) == 0:
        return ThresholdResult(np.zeros(n, dtype=bool), float("inf"), 0.0, "auto")
    from sklearn.mixture import GaussianMixture  # sklearn takes a second to import; only this rule needs it

    x = _log_scores(scores).reshape(-1, 1)
    # With a floor, three components: clean data's losses alone take two (docs/detection.md), so a third is
    # needed for a small group of mislabelled examples to get its own.
    gmm = GaussianMixture(n_components=2 if min_noisy_score is None else 3, random_state=seed, n_init=3).fit(x)
    means = gmm.means_.ravel()
    proba = gmm.predict_proba(x)  # (n, components)
    if min_noisy_score is None:
        noisy = [int(np.argmax(means))]
    else:
        member_of = proba.argmax(axis=1)
        noisy = [j for j in range(len(means)) if _median(scores[member_of == j]) >= min_noisy_score]
    posterior = proba[:, noisy].sum(axis=1)
    if not noisy:
        warning = (
            f"no group of suspicious labels: no mixture component's median score reaches {min_noisy_score:.3g} "
            "(the floor), so nothing is flagged; the noise_score column still ranks the rows "
            "(use --threshold rate:R to flag the top R)"
        )
        return ThresholdResult(np.zeros(n, dtype=bool), float("inf"), 0.0, "auto", posterior, warning)
    # The flag must be monotone in the score: a wide noisy component can also win in the far left tail,
    # so the cut is the lowest score above the highest clean component's mean whose posterior exceeds 0.5
    # (and, with a floor, not below it).
    clean_means = [means[j] for j in range(len(means)) if j not in noisy]
    above = (x.ravel() > max(clean_means, default=-np.inf)) & (posterior > 0.5)
    threshold = float(scores[above].min()) if above.any() else float("inf")
    if min_noisy_score is not None:
        threshold = max(threshold, float(min_noisy_score))
    flagged = scores >= threshold
    rate = float(posterior.mean())
    if row_floors is not None:
        reaches = scores >= np.asarray(row_floors, dtype=np.float64)
        flagged, rate = flagged & reaches, min(rate, float(reaches.mean()))
    warning = None
    if rate > 0.5:  # judged after the row floors: they can rule out most of a wide high-score component
        warning = (
            f"the mixture fit puts {rate:.0%} of the examples in the high-score group: the scores do not separate "
            "a minority of suspicious labels (too few examples or epochs to learn the task?); "
            "treat the flags with care or set --threshold rate:R"
        )
    return ThresholdResult(flagged, threshold, rate, "auto", posterior, warning)


def disagreement_floors(disagrees: np.ndarray) -> np.ndarray:
    """``row_floors`` of the disagreement rule alone: -inf where ``disagrees`` (n,) bool is True (the model predicts
    another class than the given label), +inf elsewhere (never flagged)."""
    return np.where(np.asarray(disagrees, dtype=bool), -np.inf, np.inf)


def learned_transition(pred_probs: np.ndarray) -> np.ndarray:
    """(C, C) estimate of the class-to-class noise a model trained on noisy labels has learned: row k is the mean
    of ``pred_probs`` (n, C) over the rows predicted as k; NaN for a class no row is predicted as."""
    probs = np.asarray(pred_probs, dtype=np.float64)
    predicted = probs.argmax(axis=1)
    transition = np.full((probs.shape[1], probs.shape[1]), np.nan)
    for k in np.unique(predicted):
        transition[k] = probs[predicted == k].mean(axis=0)
    return transition


def pair_floors(labels: np.ndarray, pred_probs: np.ndarray, transition: np.ndarray | None = None) -> np.ndarray:
    """Each row's loss floor (nats) from the class-to-class noise the model has learned: (n,) float64.

    A model trained on noisy labels gives an example of true class k the probability T[k, j] for label j, where
    T[k, j] is the chance that a class-k label was turned into j (T[k, k] = 1 - that class's noise rate). T is
    estimated from the model itself (:func:`learned_transition`). A row predicted as k but given y != k gets the
    midpoint, in nats, of a kept label's loss and a flipped one's, (-log T_hat[k, k] - log T_hat[k, y]) / 2:
    under symmetric noise T_hat[k, y] is small and the floor high; under pair noise (k -> y at rate rho) it sits
    between -log(1 - rho) and -log(rho). A row predicted as its given label gets +inf.

    Args:
        labels: (n,) given class ids in 0..C-1.
        pred_probs: (n, C) class probabilities of the model whose predictions decide the flags.
        transition: (C, C) ``learned_transition(pred_probs)`` when the caller has it already.
    """
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(pred_probs).argmax(axis=1)
    transition = learned_transition(pred_probs) if transition is None else transition
    log_t = np.log(np.clip(transition, 1e-12, None))
    midpoint = -(log_t[predicted, predicted] + log_t[predicted, labels]) / 2
    return np.where(predicted == labels, np.inf, midpoint)


def import_cleanlab() -> tuple[Callable, Callable]:
    """cleanlab's ``filter.find_label_issues`` and ``rank.get_label_quality_scores``; RactError when not installed."""
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        raise RactError("cleanlab is not installed: pip install 'ract[baselines]'") from None
    return find_label_issues, get_label_quality_scores


def confident_learning(labels: np.ndarray, pred_probs: np.ndarray) -> ThresholdResult:
    """The ``confident`` rule: cleanlab's ``find_label_issues`` (prune by noise rate) on ``pred_probs``.

    Args:
        labels: (n,) given class ids in 0..C-1.
        pred_probs: (n, C) class probabilities, rows summing to 1 (the pipeline passes both adapters' softmax,
            averaged over adapters and epochs).
    Returns:
        ThresholdResult with no score threshold (NaN: the flags are per class pair, not a cut on one score) and the
        flagged fraction as the estimated rate.
    """
    find_label_issues, _ = import_cleanlab()
    flagged = np.asarray(find_label_issues(np.asarray(labels, dtype=np.int64), pred_probs), dtype=bool)
    return ThresholdResult(flagged, float("nan"), float(flagged.mean()) if flagged.size else 0.0, "confident")
