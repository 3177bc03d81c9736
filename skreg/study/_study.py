"""compare_regularizers: which regularizer helps on this data, and by how much."""

import numbers
import time
import warnings

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterGrid,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.pipeline import Pipeline

from skreg.study import _grids, _racing, _screening, _verdicts
from skreg.study._grids import LINEAR, NETS, STUDIED, Sweep
from skreg.study._progress import FitWarningsSummary, StudyProgress, quiet_params, summarize
from skreg.study._rows import study_rows
from skreg.study._scorers import STILL_FALLING, fitted_scorers

_SUPPORTED = ("RegularizedNetClassifier, RegularizedNetRegressor, ElasticNetClassifier, "
              "ElasticNetRegressor, VectorQuantizer, or a Pipeline holding one of them")


def _studied_parts(estimator):
    """``(prefix, estimator)`` of every step of ``estimator`` that the study knows."""
    parts = [("", estimator)] if isinstance(estimator, STUDIED) else []
    if hasattr(estimator, "get_params"):
        parts += [(name + "__", value) for name, value in estimator.get_params(deep=True).items()
                  if isinstance(value, STUDIED)]
    return parts


def _preprocessed(estimator, prefix, X):
    """X as the step at ``prefix`` receives it, when that step ends a Pipeline (else X)."""
    if isinstance(estimator, Pipeline) and prefix == estimator.steps[-1][0] + "__":
        if len(estimator.steps) > 1:
            return clone(estimator[:-1]).fit_transform(X)
    return X


def _log_axis(values):
    numbers_ = [v for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)]
    return (len(numbers_) == len(values) > 1 and min(numbers_) > 0
            and max(numbers_) / min(numbers_) >= 100)


def _default_sweeps(parts, linear_scales, n_train, quick, requested=None):
    sweeps = []
    for prefix, part in parts:
        names = None
        if requested is not None:
            names = [name for name in requested if name in _grids.known_names(part)]
            if not names:
                continue
        if isinstance(part, NETS):
            found = _grids.net_sweeps(part, quick=quick, requested=names)
        elif isinstance(part, LINEAR):
            found = _grids.linear_sweeps(linear_scales(prefix, part), quick=quick,
                                         requested=names)
        else:
            found = [_grids.quantizer_sweep(n_train, quick=quick)]
        for sweep in found:
            sweep.prefix = prefix
        sweeps += found
    return sweeps


def _scales_of(estimator, X, y):
    """``scales(prefix, part)``: a linear step's penalty scales on its input, fitted once."""
    found = {}

    def scales(prefix, part):
        if prefix not in found:  # the sweeps and the classifier's baseline share them
            X_step = _preprocessed(estimator, prefix, X)
            found[prefix] = _grids.linear_scales(X_step, y, is_classifier(part))
        return found[prefix]
    return scales


def _sweeps_from_dict(estimator, parts, regularizers):
    """Sweeps from ``{name: values}``: a regularizer's name or a hyperparameter's."""
    all_params = estimator.get_params(deep=True)
    sweeps = []
    for name, values in regularizers.items():
        values = list(values) if np.ndim(values) else [values]
        if not values:
            raise ValueError(f"regularizers[{name!r}] is empty: give the strengths to try.")
        known = [(prefix, part) for prefix, part in parts if name in _grids.known_names(part)]
        if known:
            prefix, part = known[-1]
            sweep = _grids.named_sweep(part, name, values)
            sweep.prefix = prefix
            sweeps.append(sweep)
            continue
        matches = [prefix for prefix, _ in parts if prefix + name in all_params]
        if name in all_params:
            prefix = ""
        elif matches:
            prefix = matches[-1]
        else:
            names = sorted({n for _, part in parts for n in _grids.known_names(part)})
            raise ValueError(
                f"regularizers has {name!r}, which is neither a regularizer of the estimator "
                f"({', '.join(names) or 'none known'}) nor one of its hyperparameters."
            )
        sweeps.append(Sweep(name, name, values, log=_log_axis(values), prefix=prefix))
    return sweeps


def _build_sweeps(estimator, parts, linear_scales, n_train, regularizers, quick):
    if isinstance(regularizers, dict):
        return _sweeps_from_dict(estimator, parts, regularizers)
    if regularizers is not None:
        requested = [regularizers] if isinstance(regularizers, str) else list(regularizers)
        known = {n for _, part in parts for n in _grids.known_names(part)}
        unknown = [name for name in requested if name not in known]
        if unknown:
            raise ValueError(
                f"Unknown regularizer {unknown[0]!r}; this estimator has: "
                f"{', '.join(sorted(known))}."
            )
        return _default_sweeps(parts, linear_scales, n_train, quick, requested)
    return _default_sweeps(parts, linear_scales, n_train, quick)


def _check_target(y):
    """Refuse a missing or infinite target: every fit would fail, or every score be NaN.

    Missing values in X are left to the estimator (a Pipeline may impute them).
    """
    import pandas as pd

    values = np.asarray(y)
    if values.dtype.kind in "fc":
        missing, infinite = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    else:  # labels: None, NaN or pandas.NA among strings
        missing, infinite = int(np.sum(pd.isna(values))), 0
    if missing or infinite:
        found = " and ".join(text for count, text in ((missing, f"{missing} missing (NaN)"),
                                                       (infinite, f"{infinite} infinite"))
                             if count)
        raise ValueError(f"y holds {found} values: drop those rows (or fill the targets in) "
                         "before the study; no estimator can learn from them.")


def _splits(cv, X, y, classifier, random_state, n_repeats):
    """The folds, drawn once so that every setting is scored on the same ones.

    Returns the list of ``(train, test)``, the repeat each fold belongs to, and the splitter
    for any inner cross-validation: of the same kind as the outer folds (stratified for a
    classifier, shuffled with the study's ``random_state`` when they are), so that neither
    the row order nor the class balance of a fold can change an inner choice.
    """
    stratified = classifier and y is not None
    shuffle = random_state is not None
    if isinstance(cv, numbers.Integral):
        if n_repeats > 1:
            splitter = RepeatedStratifiedKFold if stratified else RepeatedKFold
            cv = splitter(n_splits=cv, n_repeats=n_repeats, random_state=random_state)
            shuffle = True
        elif shuffle:
            splitter = StratifiedKFold if stratified else KFold
            cv = splitter(cv, shuffle=True, random_state=random_state)
    elif n_repeats > 1:
        raise ValueError(f"n_repeats={n_repeats} needs cv to be an int (the number of folds); "
                         f"repeat the folds of {cv!r} yourself.")
    else:
        shuffle = bool(getattr(cv, "shuffle", False)) or shuffle
        random_state = getattr(cv, "random_state", None) if random_state is None else random_state
    splits = list(check_cv(cv, y, classifier=stratified).split(X, y))
    n_folds = len(splits) // n_repeats
    repeat_of_fold = np.repeat(np.arange(n_repeats), n_folds)
    inner = (StratifiedKFold if stratified else KFold)(
        3, shuffle=shuffle, random_state=random_state if shuffle else None)
    return splits, repeat_of_fold, inner


def _seeded(estimator, random_state):
    """Seed every step whose ``random_state`` is None (the user's own seeds are kept)."""
    if random_state is None:
        return estimator
    unset = {name: random_state for name, value in estimator.get_params(deep=True).items()
             if (name == "random_state" or name.endswith("__random_state")) and value is None}
    return estimator.set_params(**unset)


_PATH_CV = "path CV"


def _path_cv(parts, sweeps, scoring, inner_cv):
    """``{step: [ElasticNet*CV]}`` over the linear sweeps' grid, for a Pipeline's last step."""
    linear = [(prefix, part) for prefix, part in parts if isinstance(part, LINEAR) and prefix]
    grid = [sweep for sweep in sweeps if sweep.parameter == "alpha" and "l1_ratio" in sweep.fixed]
    if not linear or not grid:
        return None
    prefix, part = linear[-1]
    # One alpha grid for every l1_ratio: the union of the three sweeps' own grids.
    tuned = _grids.path_cv_estimator(
        part, alphas=[alpha for sweep in grid for alpha in sweep.values],
        l1_ratios=[sweep.fixed["l1_ratio"] for sweep in grid], scoring=scoring, cv=inner_cv,
    )
    return {prefix[:-2]: [tuned]}


def _combination(sweeps, rows, names):
    """The best settings (on all folds) of the sweeps named ``names``, merged.

    ``names`` are the regularizers that help on their own. A sweep whose hyperparameters
    clash with one already taken (the linear penalties all set ``alpha``) is skipped, the
    larger gain first; None when fewer than two are left.
    """
    best = []
    for sweep in sweeps:
        if sweep.name in names:
            scored = [row for row in rows if row["regularizer"] == sweep.name]
            top = scored[_verdicts.best_index(scored)]
            best.append((top["mean_test_score"], top["params"]))
    combined, taken = {}, 0
    for _, params in sorted(best, key=lambda item: -item[0]):
        if not set(params) & set(combined):
            combined.update(params)
            taken += 1
    return combined if taken >= 2 else None


def compare_regularizers(estimator, X, y=None, *, regularizers=None, cv=5, n_repeats=1,
                         scoring=None, n_jobs=None, random_state=None, quick=False,
                         screening="auto", verbose=0):
    """Cross-validate each regularizer of ``estimator`` against the unregularized baseline.

    Read more in the :ref:`User Guide <which-regularizer>`.

    The baseline is ``estimator`` with every regularizer turned off (a net without dropout,
    weight decay, L1, label smoothing, early stopping, batch norm, noise, mixup, augmentation,
    adversarial training or VQ bottleneck; a linear regressor with ``alpha=0``; a linear
    classifier with the weakest ridge penalty of the grid, since an unpenalized logistic
    regression is undefined on separable classes). Each regularizer is then swept on its own
    from that baseline, every setting scored on the same folds by
    :class:`~sklearn.model_selection.GridSearchCV`. For a linear model ending a Pipeline, the
    choice that :class:`~skreg.ElasticNetRegressorCV` (or :class:`~skreg.ElasticNetClassifierCV`)
    makes on the same grids, by inner cross-validation (same kind of folds as the outer ones)
    along warm-started paths, is scored on the same folds as well.

    ``verdicts_`` then judges every regularizer on its paired per-fold differences from the
    baseline, with the corrected resampled t-test of Nadeau and Bengio (2003) and Holm's
    correction across the regularizers: "helps", "hurts" or "no evidence". The gain of a
    regularizer is that of choosing its strength by cross-validation, the strength scored on
    a fold being chosen on the other folds, so that it is not inflated by the choice. When
    two or more regularizers help, the best settings of all of them (one per hyperparameter)
    are combined and scored too. See the user guide, "Reading a study".

    Parameters
    ----------
    estimator : estimator
        A :class:`~skreg.RegularizedNetClassifier`, :class:`~skreg.RegularizedNetRegressor`,
        :class:`~skreg.ElasticNetClassifier`, :class:`~skreg.ElasticNetRegressor`,
        :class:`~skreg.VectorQuantizer`, or a Pipeline (or any meta-estimator) holding one;
        the study sets their hyperparameters through the step prefix. Any other estimator
        can be studied with ``regularizers`` given as a dict of its hyperparameters.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,), default=None
        Targets (None for a VectorQuantizer scored by its reconstruction error).
    regularizers : dict, list of str or None, default=None
        None: the default sweeps of the estimator (for a net: dropout, weight decay, L1,
        label smoothing, early stopping, batch norm, input noise, mixup, and augmentation
        when ``image_shape`` is set; for a linear model: ``alpha`` along the ridge, elastic
        net and lasso paths, l1_ratio 0, 0.5 and 1; for a VectorQuantizer: ``n_codes``).
        A list of names picks default sweeps (``"adversarial"`` runs only when named). A dict
        ``{name: values}`` sets the strengths to try, where ``name`` is a regularizer's name
        or any hyperparameter of the estimator or of a studied step.
    cv : int, cross-validation generator or iterable, default=5
        Folds, as in :func:`~sklearn.model_selection.cross_validate` (stratified for
        classifiers). The folds are drawn once and shared by every setting.
    n_repeats : int, default=1
        Repeats of the cross-validation (``cv`` an int), each with new folds: more resamples
        resolve smaller gains, at ``n_repeats`` times the cost.
    scoring : str, callable or None, default=None
        Score to maximise, as in GridSearchCV; None uses the estimator's ``score``.
    n_jobs : int or None, default=None
        Parallel fits of each GridSearchCV (joblib). Inside
        ``joblib.parallel_config("dask")``, with a ``distributed.Client`` open, the fits
        run on that Dask cluster (``pip install 'skreg[dask]'``).
    random_state : int or None, default=None
        Seeds the steps whose ``random_state`` is None, and shuffles the folds (outer and
        inner) when ``cv`` is an int. With None, an int ``cv`` gives unshuffled folds.
    quick : bool, default=False
        Smaller default grids (two strengths per regularizer): a first look, or tests.
    screening : "auto", "racing", "halving" or bool, default="auto"
        How the strengths of each regularizer are searched. "racing" (or True): every
        strength is fitted on the first 2 folds of each cross-validation run, and on the
        run's other folds only the leader (the best on those 2 folds); each fold's strength
        is still chosen on other folds of its run, at full size, so the gain is as honest as
        the exhaustive search's, and only the choice is noisier. With 5 folds and 3
        strengths, 9 fits per run instead of 15. "halving": successive halving
        (:class:`~sklearn.model_selection.HalvingGridSearchCV`) on subsamples inside each
        outer training fold, only the strength kept refit and scored (nested, cheaper on
        large grids, but biased towards strong settings: a regularizer's best strength falls
        as the rows grow); the others get NaN full-size scores and a ``screening_score``.
        False: every strength on every fold. "auto": racing from 5,000 rows (2,000 with
        ``quick``), else False.
    verbose : int, default=0
        0: silent. 1: one progress bar over every fit of the study, fits done / total and
        the time left (``tqdm.auto``: a widget in Jupyter, a line in a terminal), fed by
        the workers. 2 and more: also GridSearchCV's messages (its ``verbose`` is one
        less). The studied steps' own ``verbose`` is set to 0: one bar per fit, from every
        worker at once, would bury the study's.

    Returns
    -------
    study : RegularizationStudy
        ``verdicts_``, ``results_``, ``best_params_``, ``summary()``, ``plot()`` and
        ``to_html(path)``. Warnings raised by the fits (in the workers too) are kept in
        ``study.warnings_`` and summed up in one warning (a ``UserWarning``) instead of
        being printed one by one.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetRegressor, compare_regularizers
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    >>> study = compare_regularizers(model, X, y, quick=True)
    >>> sorted(study.results_["regularizer"].unique())
    ['L1 (lasso)', 'L2 (ridge)', 'baseline', 'elastic net', 'path CV']
    >>> study.best_score_ >= study.baseline_score_
    True
    """
    try:  # the study's extras: tables and figures
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"compare_regularizers needs pandas and matplotlib ({exc}); install them with "
            "pip install 'skreg[study]'."
        ) from exc
    from skreg.study._result import RegularizationStudy

    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise TypeError(f"estimator must be a scikit-learn estimator, got {estimator!r}.")
    parts = _studied_parts(estimator)
    if not parts and not isinstance(regularizers, dict):
        name = type(estimator).__name__
        if isinstance(estimator, Pipeline):
            name = f"a Pipeline ending in {type(estimator.steps[-1][1]).__name__}"
        raise TypeError(
            f"compare_regularizers cannot study {name}: it needs {_SUPPORTED}. For another "
            "estimator, pass regularizers={hyperparameter: values}."
        )
    if y is None and any(is_classifier(p) or is_regressor(p) for _, p in parts):
        raise ValueError("y is required to study a classifier or a regressor.")
    if y is not None:
        _check_target(y)
    if not isinstance(n_repeats, numbers.Integral) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}.")
    classifier = is_classifier(estimator)
    splits, repeat_of_fold, inner_cv = _splits(cv, X, y, classifier, random_state, n_repeats)
    n_train = min(len(train) for train, _ in splits)
    linear_scales = _scales_of(estimator, X, y)
    sweeps = _build_sweeps(estimator, parts, linear_scales, n_train, regularizers, quick)
    if not sweeps:
        raise ValueError("No regularizer to study: regularizers selected none.")
    mode = _screening.screening_mode(screening, len(splits[0][0]) + len(splits[0][1]), quick)
    screened = [sweep for sweep in sweeps
                if mode == "halving" and _screening.screenable(sweep, n_train)]
    raced = [sweep for sweep in sweeps
             if mode == "racing" and _racing.raceable(sweep, len(splits) // n_repeats)]
    exhaustive = [sweep for sweep in sweeps if sweep not in screened + raced]

    off, baseline = {}, "all off"
    for prefix, part in parts:
        part_off = _grids.baseline_params(part)
        if isinstance(part, LINEAR) and is_classifier(part):
            part_off = _grids.linear_baseline(linear_scales(prefix, part), True)
            baseline = (f"weakest L2 penalty of the grid (alpha={part_off['alpha']:.3g}; "
                        "unpenalized logistic regression is undefined on separable classes)")
        off.update({prefix + key: value for key, value in part_off.items()})
    base = _seeded(clone(estimator).set_params(**off), random_state)
    scorers = {"score": check_scoring(base, scoring)}
    main = [prefix for prefix, part in parts if isinstance(part, NETS + LINEAR)]
    max_iter, step = None, None
    if main:
        step = main[-1][:-2]
        scorers.update(fitted_scorers(step))
        max_iter = base.get_params(deep=True).get(main[-1] + "max_iter")

    base.set_params(**quiet_params(parts))  # the study's bar is the only one

    def search(grid, estimator=base, scoring=scorers, folds=None):
        cv = splits if folds is None else [splits[fold] for fold in folds]
        search = GridSearchCV(
            estimator, grid, scoring=scoring, refit=False, cv=cv, n_jobs=n_jobs,
            return_train_score=True, error_score=np.nan, verbose=max(verbose - 1, 0),
        )
        return progress.fit(search, X, y).cv_results_

    start = time.perf_counter()
    grid = [{}] + [sweep.grid() for sweep in exhaustive]
    tuned = _path_cv(parts, sweeps, scoring, inner_cv) if regularizers is None else None
    # Planned fits, the combination's included (skipped unless two or more regularizers help);
    # a screened sweep counts one fit per fold (its halving runs inside that fit).
    planned = (len(ParameterGrid(grid)) + len(screened) + (len(sweeps) > 1)
               + (tuned is not None)) * len(splits) + _racing.planned_fits(raced, repeat_of_fold)
    with StudyProgress(planned, verbose=verbose) as progress:
        # One search over the baseline and every sweep not raced or screened: all its fits
        # are queued at once, so n_jobs (or a Dask cluster) is kept busy until the last one.
        # Racing adds two searches (the leaders are known only after the first).
        cv_results = {"sweeps": search(grid)}
        rows = study_rows(exhaustive, cv_results["sweeps"], len(splits))
        if raced:
            rows += _racing.race(search, raced, repeat_of_fold, progress, cv_results)
        if screened:
            rows += _screening.screen(search, screened, base, scorers, scoring, step, n_train,
                            classifier, random_state, len(splits), cv_results)
        # Back in the order of the sweeps: the baseline, then each sweep's rows.
        rows = rows[:1] + [row for sweep in sweeps for row in rows[1:]
                           if row["regularizer"] == sweep.name]
        tuned_rows = []
        if tuned is not None:
            # The cross-validated path inside each outer fold: what the user gets by letting
            # ElasticNet*CV choose alpha and l1_ratio, scored on the same outer folds.
            cv_results[_PATH_CV] = search(tuned)
            tuned_rows = study_rows([], cv_results[_PATH_CV], len(splits), first=_PATH_CV,
                               kind="tuned")
        sizes = (np.mean([len(train) for train, _ in splits]),
                 np.mean([len(test) for _, test in splits]))
        units = [(sweep.name, "single", [row for row in rows if row["regularizer"] == sweep.name],
                  sweep) for sweep in exhaustive + raced]
        units += [(sweep.name, "screened", [row for row in rows if row["regularizer"] == sweep.name
                                            and row["kind"] == "screened"], sweep)
                  for sweep in screened]
        units.sort(key=lambda unit: sweeps.index(unit[3]))
        units += [(_PATH_CV, "tuned", tuned_rows, None)] if tuned_rows else []
        # Which regularizers help on their own decides the combination; the final verdicts
        # are then adjusted over every unit, the combination included.
        assessed = _verdicts.assess(units, rows[0], repeat_of_fold, *sizes)
        combination = _combination(sweeps, rows[1:], _verdicts.helping(assessed))
        if combination is not None:
            cv_results["combination"] = search({k: [v] for k, v in combination.items()})
            combined = study_rows([], cv_results["combination"], len(splits), first="combination")
            rows += combined
            units.insert(len(sweeps), ("combination", "combination", combined, None))
            assessed = _verdicts.assess(units, rows[0], repeat_of_fold, *sizes)
        elif len(sweeps) > 1:
            progress.skip(len(splits))
    rows += tuned_rows
    for unit in assessed:
        unit["flags"] = _verdicts.unit_flags(unit, max_iter, STILL_FALLING)
        if unit["kind"] == "combination":
            unit["flags"].append("its settings were chosen on these folds: gain optimistic")
    baseline_flags = _verdicts.baseline_flags(rows[0], max_iter, STILL_FALLING)

    from skreg.study._result import describe

    verdicts = _verdicts.verdict_frame(assessed, rows[0], describe, baseline_flags)
    if not off:
        baseline = f"as given ({_grids.describe_sweeps(estimator, sweeps)})"
    study = RegularizationStudy(
        estimator=estimator, base_estimator=base, sweeps=sweeps, rows=rows,
        cv_results=cv_results, scoring=scoring, n_splits=len(splits), shape=np.shape(X),
        baseline=baseline, elapsed=time.perf_counter() - start, verdicts=verdicts,
        baseline_flags=baseline_flags, splits=splits, n_repeats=n_repeats,
    )
    study.warnings_ = progress.warnings
    if progress.warnings:  # one line here, the list in study.warnings_ and the report
        warnings.warn(f"compare_regularizers: {summarize(progress.warnings)}; the list is in "
                      "study.warnings_.", FitWarningsSummary, stacklevel=2)
    return study
