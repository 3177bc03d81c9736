"""Screening: each regularizer's strength chosen by successive halving inside each outer fold.

An exhaustive study fits every strength of every regularizer on every outer fold at full size.
With screening, each outer training fold runs scikit-learn's
:class:`~sklearn.model_selection.HalvingGridSearchCV` over one regularizer's strengths on
growing subsamples of *its own training rows* (scored on a held-out part of them), refits the
surviving strength on the whole training fold, and only that fit is scored on the outer test
fold. The choice is nested (the outer test rows never take part in it), so the per-fold score
is that of "choose this regularizer's strength by successive halving", the unit the verdicts
then test against the baseline, exactly like the path CV row.

K. Jamieson and A. Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter
Optimization", AISTATS 2016; L. Li et al., "Hyperband", JMLR 18, 2018.
"""

import math
from collections import Counter

import numpy as np
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV, ShuffleSplit, StratifiedShuffleSplit

from skreg.study._rows import study_rows
from skreg.study._scorers import fitted_scorers

# screening="auto" races tables of at least this many rows (quick mode: AUTO_ROWS_QUICK).
AUTO_ROWS, AUTO_ROWS_QUICK = 5_000, 2_000
FACTOR = 3  # successive halving keeps the best third of the strengths at each rung
MIN_RUNG_ROWS = 50  # the smallest subsample a strength is fitted on
LAST_RUNG_ROWS = 1_000  # the final choice of a strength is made on at least this many rows
HELD_OUT = 0.25  # share of each subsample that scores the strengths


MODES = ("racing", "halving")


def screening_mode(screening, n_samples, quick):
    """How the study screens the strengths: None (exhaustive), "racing" or "halving".

    ``screening``: False, True ("racing"), "racing", "halving", or "auto" (racing on tables
    of :data:`AUTO_ROWS` rows or more, :data:`AUTO_ROWS_QUICK` with ``quick``).
    """
    if isinstance(screening, (bool, np.bool_)):
        return "racing" if screening else None
    if screening == "auto":
        return "racing" if n_samples >= (AUTO_ROWS_QUICK if quick else AUTO_ROWS) else None
    if screening not in MODES:
        raise ValueError("screening must be 'auto', 'racing', 'halving', True or False, got "
                         f"{screening!r}.")
    return screening


def screenable(sweep, n_train):
    """Whether screening ``sweep`` saves fits: two strengths compared on the whole training
    fold would cost more than fitting both; one strength is simply fitted at full size."""
    return len(sweep.values) >= 3 or (len(sweep.values) == 2
                                      and rungs(2, n_train)[1] < n_train)


def rungs(n_candidates, n_train):
    """``(min_resources, max_resources)``: rows of the halving's first and last rungs.

    The last rung, where the final choice is made, has a third of the outer training fold,
    or all of it when that third would be under :data:`LAST_RUNG_ROWS` rows (a strength's
    best value depends on the training size, so the final choice needs enough rows). The
    rungs stop while two strengths or more are left (a rung with a lone survivor would be
    a wasted fit: it is refit on the whole fold anyway); the first one has the fewest rows
    that halving at :data:`FACTOR` leads to, but at least :data:`MIN_RUNG_ROWS`.
    """
    largest = min(n_train, max(n_train // FACTOR, LAST_RUNG_ROWS))
    n_rungs, left = 0, n_candidates
    while left >= 2:
        n_rungs, left = n_rungs + 1, math.ceil(left / FACTOR)
    smallest = max(largest // FACTOR ** max(n_rungs - 1, 0), MIN_RUNG_ROWS)
    return min(smallest, largest), largest


def screener(base, sweep, scoring, n_train, classifier, random_state):
    """The nested estimator of one sweep: halving over its grid, then refit on the fold."""
    splitter = StratifiedShuffleSplit if classifier else ShuffleSplit
    smallest, largest = rungs(len(sweep.values), n_train)
    return HalvingGridSearchCV(
        base, sweep.grid(), factor=FACTOR, resource="n_samples", min_resources=smallest,
        max_resources=largest, cv=splitter(1, test_size=HELD_OUT, random_state=random_state),
        scoring=scoring, refit=True, error_score=np.nan, random_state=random_state,
    )


class _Screened:
    """A GridSearchCV "scorer" reading the fitted halving search of one outer fold.

    The halving's first rung holds every strength, in the order of the sweep's values (the
    grid varies one hyperparameter), so a strength is known by its index there, whatever the
    hyperparameter: one outer search serves every sweep with that many values.
    """

    def __init__(self, index=None):
        self.index = index

    @staticmethod
    def _candidates(search):
        results = search.cv_results_
        return [params for params, rung in zip(results["params"], results["iter"], strict=True)
                if rung == 0]

    def _last_rung(self, search):
        """Index in ``cv_results_`` of strength ``index`` at the largest subsample it reached."""
        results = search.cv_results_
        params = self._candidates(search)[self.index]
        rows = [row for row, other in enumerate(results["params"]) if other == params]
        return max(rows, key=lambda row: results["n_resources"][row])


class ChosenIndex(_Screened):
    """Index, in the sweep's values, of the strength the halving kept on this fold."""

    def __call__(self, search, X, y=None):
        return float(self._candidates(search).index(search.best_params_))


class ScreeningScore(_Screened):
    """Held-out score of one strength at the largest subsample it reached on this fold."""

    def __call__(self, search, X, y=None):
        return float(search.cv_results_["mean_test_score"][self._last_rung(search)])


class ScreeningRows(_Screened):
    """Rows of the largest subsample one strength reached on this fold."""

    def __call__(self, search, X, y=None):
        return float(search.cv_results_["n_resources"][self._last_rung(search)])


def record_scorers(n_values):
    """The screening record of a halving over ``n_values`` strengths, as extra scorers."""
    found = {"chosen": ChosenIndex()}
    for index in range(n_values):
        found[f"screen{index}"] = ScreeningScore(index)
        found[f"rows{index}"] = ScreeningRows(index)
    return found


def screened_rows(sweep, cv_results, candidate, n_folds, scored_row):
    """Rows of a screened sweep: one per strength (no full-size score), then the choice.

    ``scored_row`` is the study's row of the outer search's ``candidate`` (the halving
    refit of each fold, scored on its test fold). The strength rows get NaN full-size scores
    and their screening record: ``screening_score`` (held-out score at the largest subsample
    reached, mean over the folds), ``screening_rows`` and ``n_chosen`` (folds that kept it).
    """
    chosen = np.array([cv_results[f"split{fold}_test_chosen"][candidate]
                       for fold in range(n_folds)], dtype=int)
    counts = Counter(chosen.tolist())
    rows = []
    for index, value in enumerate(sweep.values):
        rows.append({
            "regularizer": sweep.name, "kind": "single", "parameter": sweep.parameter,
            "strength": value, "params": sweep.params(value),
            "mean_test_score": np.nan, "std_test_score": np.nan, "mean_train_score": np.nan,
            "std_train_score": np.nan, "mean_fit_time": np.nan,
            "fold_scores": np.full(n_folds, np.nan), "n_iter": np.nan, "best_epoch": np.nan,
            "loss_trend": np.nan,
            "screening_score": float(cv_results[f"mean_test_screen{index}"][candidate]),
            "screening_rows": float(cv_results[f"mean_test_rows{index}"][candidate]),
            "n_chosen": counts.get(index, 0), "n_folds": 0,
        })
    # The most often kept strength (the first of ties): the setting to use.
    modal = max(range(len(sweep.values)), key=lambda index: (counts.get(index, 0), -index))
    scored_row.update({
        "regularizer": sweep.name, "kind": "screened", "parameter": sweep.parameter,
        "strength": None, "params": sweep.params(sweep.values[modal]), "chosen_index": modal,
        "chosen": chosen, "n_chosen": counts.get(modal, 0),
    })
    return rows + [scored_row]


def screen(search, screened, base, scorers, scoring, step, n_train, classifier,
           random_state, n_folds, cv_results):
    """The screened sweeps' rows: a halving search per sweep inside each outer fold.

    One outer search per number of strengths (the halving's rungs depend on it), its
    candidates the sweeps' grids: every fit is queued at once, as in the exhaustive search.
    """
    rows = []
    for n_values in sorted({len(sweep.values) for sweep in screened}):
        group = [sweep for sweep in screened if len(sweep.values) == n_values]
        nested = screener(base, group[0], scoring, n_train, classifier, random_state)
        extra = {"score": scorers["score"], **record_scorers(n_values)}
        if step is not None:  # the fitted step of the halving's refit
            extra.update(fitted_scorers("best_estimator" + (f"__{step}" if step else "")))
        key = "screening" if len(group) == len(screened) else f"screening ({n_values} values)"
        cv_results[key] = search({"param_grid": [sweep.grid() for sweep in group]}, nested,
                                 extra)
        scored = study_rows([], cv_results[key], n_folds, first=[sweep.name for sweep in group])
        for candidate, sweep in enumerate(group):
            rows += screened_rows(sweep, cv_results[key], candidate, n_folds,
                                  scored[candidate])
    return rows
