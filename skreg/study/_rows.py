"""The study's rows: one per setting scored, from GridSearchCV's ``cv_results_``, and
``results_``, their table."""

import numpy as np

# What the fitted scorers report per fold (epochs run, epoch restored, loss trend): -1 is "none".
FITTED_KEYS = ("n_iter", "best_epoch", "loss_trend")


def study_rows(sweeps, cv_results, n_folds, first="baseline", kind=None):
    """One row per candidate of ``cv_results``: ``first``, then each sweep's values in order.

    ``first`` may be a list: one name per candidate (no sweep's values then).
    """
    names = first if isinstance(first, list) else [first]
    labels = [(name, None, None) for name in names] + [
        (sweep.name, sweep, value) for sweep in sweeps for value in sweep.values]
    rows = []
    for index, ((name, sweep, value), params) in enumerate(
            zip(labels, cv_results["params"], strict=True)):
        if sweep is not None:
            assert params[sweep.prefix + sweep.parameter] == value, (params, sweep)
        row = {
            "regularizer": name, "kind": (kind or name) if sweep is None else "single",
            "parameter": "" if sweep is None else sweep.parameter,
            "strength": None if sweep is None else value,
            "params": dict(params),
        }
        for key in ("mean_test_score", "std_test_score", "mean_train_score", "std_train_score",
                    "mean_fit_time"):
            row[key] = float(cv_results[key][index])
        row["fold_scores"] = np.array([cv_results[f"split{fold}_test_score"][index]
                                       for fold in range(n_folds)], dtype=float)
        for key in FITTED_KEYS:
            value = cv_results.get(f"mean_test_{key}")
            value = np.nan if value is None else float(value[index])
            row[key] = np.nan if value < 0 else value
        row["n_folds"] = n_folds  # folds fitted on (racing fits some settings on fewer)
        rows.append(row)
    return rows


def results_frame(rows, baseline_score):
    """``results_``: one row per (regularizer, strength), gaps and gains as columns."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["train_test_gap"] = frame["mean_train_score"] - frame["mean_test_score"]
    frame["gain"] = frame["mean_test_score"] - baseline_score
    columns = ["regularizer", "kind", "parameter", "strength", "mean_test_score",
               "std_test_score", "mean_train_score", "std_train_score", "train_test_gap",
               "gain", "mean_fit_time", "n_iter", "best_epoch", "params", "n_folds",
               "screening_score", "screening_rows", "n_chosen"]
    return frame.reindex(columns=columns)
