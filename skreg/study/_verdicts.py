"""``verdicts_``: per regularizer, an honest gain, its interval, its p-value, its verdict, flags.

A regularizer's gain is the gain of choosing its strength by cross-validation: the setting
scored on a fold is chosen on the other folds of the same run (:func:`cross_fold_choice`), so
the reported gain carries no winner's curse. The per-fold differences from the baseline go
through the corrected resampled t-test, and Holm's procedure holds the chance of any false
"helps" or "hurts" among the regularizers at 5%.
"""

import numbers

import numpy as np

from skreg.study._stats import LEVEL, corrected_ttest, cross_fold_choice, holm, verdict

COLUMNS = ["regularizer", "kind", "best setting", "test score", "gain", "ci_low", "ci_high",
           "p_value", "p_holm", "verdict", "flags", "n_settings"]


def _fitted(rows):
    """``(n_rows, n_folds)``: which row was fitted on which fold (racing skips some)."""
    return np.array([row.get("fitted", np.ones(len(row["fold_scores"]), dtype=bool))
                     for row in rows], dtype=bool)


def best_index(rows):
    """The row with the best mean test score over all folds (the first of ties).

    Only rows scored on every fold compete (a raced strength fitted on the selection folds
    alone has a mean over other folds: not comparable); there is always one, the leader.
    """
    scores = np.array([row["mean_test_score"] for row in rows], dtype=float)
    complete = np.array([bool(np.all(row.get("fitted", True))) for row in rows])
    scores = np.where(complete if complete.any() else True, scores, np.nan)
    return int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))


def fold_differences(rows, baseline, repeat_of_fold):
    """Per-fold score of the cross-fold choice among ``rows`` minus the baseline's."""
    scores = np.array([row["fold_scores"] for row in rows], dtype=float)
    chosen = cross_fold_choice(scores, repeat_of_fold, _fitted(rows))
    return scores[chosen, np.arange(scores.shape[1])] - baseline["fold_scores"]


def assess(units, baseline, repeat_of_fold, n_train, n_test):
    """The test of every unit ``(name, kind, rows, sweep)`` and Holm's adjustment across them."""
    assessed = []
    for name, kind, rows, sweep in units:
        test = corrected_ttest(fold_differences(rows, baseline, repeat_of_fold), n_train, n_test)
        assessed.append({"name": name, "kind": kind, "rows": rows, "sweep": sweep,
                         "best": best_index(rows), "test": test})
    adjusted = holm([unit["test"].p_value for unit in assessed])
    for unit, p_holm in zip(assessed, adjusted, strict=True):
        unit["p_holm"] = float(p_holm)
        unit["verdict"] = verdict(unit["test"].gain, p_holm)
    return assessed


def helping(assessed):
    """Names of the units whose verdict is "helps"."""
    return [unit["name"] for unit in assessed if unit["verdict"] == "helps"]


def _still_learning(trend, max_iter):
    return (f"under-trained: the last tenth of its max_iter={max_iter} epochs still made "
            f"{trend:.0%} of its training loss's decrease")


def baseline_flags(baseline, max_iter, still_falling):
    """A baseline that did not converge or is under-trained taints every gain: say so."""
    flags = []
    if not np.isfinite(baseline["mean_test_score"]):
        flags.append("the baseline failed to fit")
    if max_iter is None:
        return flags
    trend = baseline.get("loss_trend", np.nan)
    if np.isfinite(trend) and trend > still_falling:
        flags.append(f"baseline {_still_learning(trend, max_iter)}; a gain may only reflect "
                     "faster training (raise max_iter)")
    elif (np.isnan(trend) and np.isfinite(baseline["n_iter"]) and baseline["n_iter"] >= max_iter
            and np.isnan(baseline["best_epoch"])):
        flags.append(f"the baseline did not converge within max_iter={max_iter}")
    return flags


def _numeric(values):
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


def unit_flags(unit, max_iter, still_falling=None):
    """A unit's flags: best strength at an edge of the grid, early stopping that never stopped,
    a regularized net still learning when ``max_iter`` stopped it."""
    flags = []
    test = unit["test"]
    if test.gain != 0 and np.isfinite(test.gain) and np.isnan(test.ci_low):
        flags.append(f"the same difference ({test.gain:+.3g}) on every fold: the folds measure "
                     "no noise, so no verdict (use more folds or n_repeats)")
    sweep, best = unit["sweep"], unit["rows"][unit["best"]]
    # A screened unit's single row is the per-fold choice; its strength kept most often.
    position = best.get("chosen_index", unit["best"])
    if sweep is not None and len(sweep.values) >= 3 and _numeric(sweep.values):
        gain = unit["test"].gain
        if position == len(sweep.values) - 1 and gain > 0:
            flags.append("best at the largest value of the grid: try larger")
        elif position == 0 and unit["verdict"] == "helps":
            flags.append("best at the smallest value of the grid: try smaller")
    if (max_iter is not None and np.isfinite(best["best_epoch"])
            and np.isfinite(best["n_iter"]) and best["n_iter"] >= max_iter):
        flags.append(f"early stopping never stopped: every fold ran all max_iter={max_iter} "
                     "epochs (raise max_iter)")
    # A regularizer that slows training down (dropout, noise, mixup) can look harmful only
    # because max_iter stopped it before it converged: its own loss trend says so.
    trend = best.get("loss_trend", np.nan)
    if None not in (max_iter, still_falling) and np.isfinite(trend) and trend > still_falling:
        flags.append(f"{_still_learning(trend, max_iter)}; a loss may only reflect slower "
                     "training (raise max_iter)")
    return flags


def verdict_frame(assessed, baseline, describe, extra_flags=()):
    """``verdicts_``: one row per assessed unit, in their order."""
    import pandas as pd

    rows = []
    for unit in assessed:
        best = unit["rows"][unit["best"]]
        if unit["kind"] == "tuned":
            setting = ("chosen in each fold by "
                       f"{type(next(iter(best['params'].values()))).__name__}")
        else:
            setting = describe(best["params"])
        if unit["kind"] == "screened":
            setting += (f" (kept in {best['n_chosen']} of {len(best['chosen'])} folds by "
                        "successive halving)")
        test = unit["test"]
        rows.append({
            "regularizer": unit["name"], "kind": unit["kind"], "best setting": setting,
            "test score": best["mean_test_score"], "gain": test.gain, "ci_low": test.ci_low,
            "ci_high": test.ci_high, "p_value": test.p_value, "p_holm": unit["p_holm"],
            "verdict": unit["verdict"], "flags": "; ".join(unit["flags"] + list(extra_flags)),
            "n_settings": len(unit["sweep"].values) if unit["kind"] == "screened"
            else len(unit["rows"]),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["LEVEL", "assess", "baseline_flags", "helping", "unit_flags", "verdict_frame"]
