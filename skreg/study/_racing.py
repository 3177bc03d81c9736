"""Racing over the folds: every strength on the first folds of each run, the leader on the rest.

An exhaustive study fits every strength of a regularizer on every fold. Its per-fold score is
that of the strength chosen on the *other* folds of the same run (:func:`cross_fold_choice`),
so the choice never sees the rows it is scored on. Racing keeps that nesting and every fit at
full size, and skips the fits the choice cannot use:

1. every strength is fitted on the first :data:`SELECTION_FOLDS` folds of each run (the
   selection folds);
2. on each of the run's other folds, the strength with the best mean score on its selection
   folds (the leader: what :func:`cross_fold_choice` would choose there from those folds) is
   the only one fitted.

A selection fold's strength is chosen on the run's other selection folds, every other fold's
on all of them. Both choices are nested and made on full-size fits: no winner's curse, and
none of the bias of choosing on subsamples (a regularizer's best strength falls as the rows
grow). What it costs is a noisier choice (made on fewer folds), which can only lower the
gain measured. The idea is that of racing for model selection, where candidates that fall
behind on the first test cases are not evaluated further: O. Maron and A. W. Moore,
"Hoeffding Races", NeurIPS 6, 1993; M. Birattari et al., "A Racing Algorithm for
Configuring Metaheuristics", GECCO 2002.

With 5 folds and 3 strengths a run costs 2 x 3 + 3 = 9 fits instead of 15.
"""

import numpy as np

from skreg.study._rows import FITTED_KEYS
from skreg.study._stats import cross_fold_choice

SELECTION_FOLDS = 2  # folds of each run on which every strength is fitted


def raceable(sweep, folds_per_run):
    """Whether racing ``sweep`` saves fits: two strengths or more, folds beyond the selection."""
    return len(sweep.values) >= 2 and folds_per_run > SELECTION_FOLDS


def selection_folds(repeat_of_fold):
    """Mask of the folds on which every strength is fitted: the first of each run."""
    repeat_of_fold = np.asarray(repeat_of_fold)
    mask = np.zeros(len(repeat_of_fold), dtype=bool)
    for repeat in np.unique(repeat_of_fold):
        mask[np.flatnonzero(repeat_of_fold == repeat)[:SELECTION_FOLDS]] = True
    return mask


def planned_fits(raced, repeat_of_fold):
    """Fits of the raced sweeps when every run has one leader per sweep (the usual case)."""
    selection = selection_folds(repeat_of_fold)
    return sum(len(sweep.values) * int(selection.sum()) + int((~selection).sum())
               for sweep in raced)


def _fill(table, results, candidate, folds):
    """Copy one candidate's per-split values of a search into the study's fold columns."""
    for split, fold in enumerate(folds):
        table["test"][fold] = results[f"split{split}_test_score"][candidate]
        table["train"][fold] = results[f"split{split}_train_score"][candidate]
        for key in FITTED_KEYS:
            values = results.get(f"split{split}_test_{key}")
            if values is not None:
                table[key][fold] = values[candidate]
        table["fitted"][fold] = True
    table["fit_time"].append((float(results["mean_fit_time"][candidate]), len(folds)))


def _row(sweep, value, table):
    fitted = table["fitted"]
    test, train = table["test"][fitted], table["train"][fitted]
    time_total = sum(mean * count for mean, count in table["fit_time"])
    row = {
        "regularizer": sweep.name, "kind": "single", "parameter": sweep.parameter,
        "strength": value, "params": sweep.params(value),
        "mean_test_score": float(np.mean(test)), "std_test_score": float(np.std(test)),
        "mean_train_score": float(np.mean(train)), "std_train_score": float(np.std(train)),
        "mean_fit_time": time_total / fitted.sum(),
        "fold_scores": table["test"], "fitted": fitted.copy(), "n_folds": int(fitted.sum()),
    }
    for key in FITTED_KEYS:  # as the study's other rows: the mean over the folds, -1 is "none"
        mean = float(np.mean(table[key][fitted]))
        row[key] = np.nan if not np.isfinite(mean) or mean < 0 else mean
    return row


def race(search, raced, repeat_of_fold, progress, cv_results):
    """The raced sweeps' rows: one per strength, NaN on the folds where it was not fitted.

    ``search(grid, folds=...)`` runs one GridSearchCV on those folds of the study and returns
    its ``cv_results_``. Two searches: every strength on the selection folds, then the
    leaders on the other folds (one per run, usually the same in every run: when runs
    disagree, each leader is fitted on all the other folds, so that every leader is scored
    on every fold and can be the sweep's best setting).
    """
    n_folds = len(repeat_of_fold)
    selection = selection_folds(repeat_of_fold)
    first_folds, other_folds = np.flatnonzero(selection), np.flatnonzero(~selection)
    first = search([sweep.grid() for sweep in raced], folds=first_folds)
    cv_results["racing (selection folds)"] = first
    tables, offset, second_grid, second_index = {}, 0, [], {}
    for sweep in raced:
        n_values = len(sweep.values)
        tables[sweep.name] = [
            {"test": np.full(n_folds, np.nan), "train": np.full(n_folds, np.nan),
             "fitted": np.zeros(n_folds, dtype=bool), "fit_time": [],
             **{key: np.full(n_folds, np.nan) for key in FITTED_KEYS}}
            for _ in range(n_values)]
        for index in range(n_values):
            _fill(tables[sweep.name][index], first, offset + index, first_folds)
        offset += n_values
        scores = np.array([table["test"] for table in tables[sweep.name]])
        fitted = np.array([table["fitted"] for table in tables[sweep.name]])
        # On each other fold, what the study's cross-fold choice takes there: the leader.
        chosen = cross_fold_choice(scores, repeat_of_fold, fitted)[other_folds]
        for index in sorted(set(chosen.tolist())):
            second_index[sweep.name, index] = len(second_grid)
            second_grid.append({key: [value] for key, value
                                in sweep.params(sweep.values[index]).items()})
    extra = len(second_grid) - len(raced)  # runs that chose different leaders
    if extra:
        progress.skip(-extra * len(other_folds))
    second = search(second_grid, folds=other_folds)
    cv_results["racing (other folds)"] = second
    rows = []
    for sweep in raced:
        for index, value in enumerate(sweep.values):
            table = tables[sweep.name][index]
            if (sweep.name, index) in second_index:
                _fill(table, second, second_index[sweep.name, index], other_folds)
            rows.append(_row(sweep, value, table))
    return rows
