"""The statistics of a study: paired per-fold differences, their corrected t-test, Holm.

Every setting of a study is scored on the same folds as the baseline, so a gain is judged on
the paired per-fold differences. The folds' training sets overlap, which makes the plain
t-test on those differences far too confident; the corrected resampled t-test of Nadeau and
Bengio (2003) inflates the variance of their mean by the overlap (scikit-learn's example
"Statistical comparison of models using grid search" shows the same test).

C. Nadeau and Y. Bengio, "Inference for the Generalization Error", Machine Learning 52(3),
2003. S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scandinavian Journal
of Statistics 6(2), 1979.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.05  # family-wise error rate of the verdicts, and 1 - coverage of the intervals


@dataclass
class PairedTest:
    """The corrected resampled t-test of one set of per-fold differences."""

    gain: float
    ci_low: float
    ci_high: float
    p_value: float


def corrected_ttest(differences, n_train, n_test, level=LEVEL):
    """Nadeau and Bengio's corrected resampled t-test of the mean of paired differences.

    Parameters
    ----------
    differences : array-like of shape (n_folds,)
        Score of the setting minus score of the baseline, fold by fold (all repeats of the
        cross-validation together).
    n_train, n_test : int
        Rows in a training set and in a test set (the mean over the folds).
    level : float, default=0.05
        The interval covers ``1 - level``.

    Returns
    -------
    test : PairedTest
        The mean difference, its two-sided ``1 - level`` confidence interval and the two-sided
        p-value of "no difference". The variance of the mean is ``(1/J + n_test/n_train)`` times
        the variance of the J differences (``1/J`` alone is the naive t-test), on J - 1 degrees
        of freedom. Differences that are all equal leave the noise unmeasured (few folds, a
        score of coarse resolution such as the accuracy on a small test fold): p-value 1, and
        no interval (NaN) unless they are all zero.
    """
    differences = np.asarray(differences, dtype=float)
    n_folds = len(differences)
    mean = float(np.mean(differences))
    if not np.all(np.isfinite(differences)):
        return PairedTest(np.nan, np.nan, np.nan, np.nan)
    if n_folds < 2:
        raise ValueError(f"The corrected t-test needs at least 2 folds, got {n_folds}.")
    variance = np.var(differences, ddof=1) * (1.0 / n_folds + n_test / n_train)
    standard_error = float(np.sqrt(variance))
    if standard_error <= 1e-15 * max(1.0, abs(mean)):
        # No spread: the t statistic is infinite for any nonzero mean, which would call a
        # one-row gain on every fold "significant". The folds measured no noise, so they
        # give no evidence either way (unit_flags says so).
        if mean == 0:
            return PairedTest(0.0, 0.0, 0.0, 1.0)
        return PairedTest(mean, np.nan, np.nan, 1.0)
    dof = n_folds - 1
    p_value = float(2 * stats.t.sf(abs(mean) / standard_error, dof))
    half = float(stats.t.ppf(1 - level / 2, dof)) * standard_error
    return PairedTest(mean, mean - half, mean + half, p_value)


def holm(p_values):
    """Holm's step-down adjusted p-values (family-wise error control, any dependence).

    The i-th smallest of m p-values is multiplied by ``m - i + 1`` (i from 1), made
    non-decreasing in that order and capped at 1; a hypothesis is rejected at level a when
    its adjusted p-value is at most a. NaN p-values (failed fits) stay NaN and do not count in m.
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    finite = np.flatnonzero(np.isfinite(p_values))
    order = finite[np.argsort(p_values[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def verdict(gain, adjusted_p_value, level=LEVEL):
    """"helps" or "hurts" when the adjusted p-value is at most ``level``, else "no evidence"."""
    if not np.isfinite(adjusted_p_value) or adjusted_p_value > level:
        return "no evidence"
    return "helps" if gain > 0 else "hurts"


def cross_fold_choice(scores, repeat_of_fold, fitted=None):
    """For each fold, the setting with the best mean score on the *other* folds of its repeat.

    Choosing a regularizer's strength on the same folds that score it keeps the luckiest of
    several noisy settings (the winner's curse): the gain of "the best setting" is optimistic.
    Choosing the setting scored on fold i from the other folds of the same cross-validation
    run means that fold i's own test noise never picks the setting it scores.

    Parameters
    ----------
    scores : ndarray of shape (n_settings, n_folds)
        Test score of every setting on every fold (NaN: a failed fit, never chosen).
    repeat_of_fold : ndarray of shape (n_folds,)
        The repeat of the cross-validation each fold belongs to.
    fitted : ndarray of shape (n_settings, n_folds), dtype=bool, default=None
        Which settings were fitted on which folds (None: all on all). The choice is made on
        the other folds where every setting was fitted (racing: see ``_racing``).

    Returns
    -------
    chosen : ndarray of shape (n_folds,)
        Index of the setting chosen for each fold.
    """
    scores = np.asarray(scores, dtype=float)
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    complete = (np.ones(scores.shape[1], dtype=bool) if fitted is None
                else np.asarray(fitted, dtype=bool).all(axis=0))
    chosen = np.zeros(scores.shape[1], dtype=int)
    for fold in range(scores.shape[1]):
        others = ((repeat_of_fold == repeat_of_fold[fold]) & (np.arange(scores.shape[1]) != fold)
                  & complete)
        # The first of ties, as GridSearchCV's best_index_.
        chosen[fold] = int(np.argmax(finite[:, others].mean(axis=1)))
    return chosen
