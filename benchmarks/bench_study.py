"""Are compare_regularizers' verdicts right? Synthetic tasks whose truth is known.

Each task draws 500 training rows and 100,000 test rows from one generator. The study runs on
the training rows; the truth of a regularizer is its held-out gain: the setting the study
recommends (its ``best setting``) and the baseline, both refit on the 500 rows and scored on
the 100,000. A held-out gain above ``+DELTA`` makes "helps" the true verdict, below
``-DELTA`` "hurts", else "no evidence". Printed over the seeds:

- agreement: how often each row's verdict is the true one, per task;
- false "helps" rate: on the tasks where nothing helps, the share of "helps" (target ≤ 5%);
- bias of the gain: mean reported gain minus mean held-out gain, relative to the latter, on
  the rows whose true gain exceeds DELTA (target: within ±25%).

The studies use the quick grids (5 strengths per linear penalty) to keep the run short. The
reported gain is that of cross-validation: models trained on 4/5 of the rows, where
regularization matters a little more than on all of them.

    python benchmarks/bench_study.py            # 20 seeds, 5-fold CV repeated twice
    python benchmarks/bench_study.py --quick    # 4 seeds, the linear tasks only

Speed (``--speed``): the CLI's studies (a net and a linear model, each in a Pipeline with the
CLI's preprocessing, 2 repeats of the cross-validation) on a generated regression table, timed
in several configurations side by side in one run (see SPEED_CONFIGS): "exhaustive" (every
strength on every fold at full size, the net 100 epochs: the CLI before the epoch budget and
racing), "budget" (the net's epochs from its step budget), "raced" (racing over the folds),
"cli" (the CLI's default: both), "screened" and "budget-screened" (``--screening halving``:
successive halving inside each training fold). Prints the time ratios to the
first configuration (targets: the 200,000 x 20 table with ``--quick`` settings in <= 25% of
the exhaustive time, a 6,366-row table in full mode in <= 50%) and every verdict with its
gain, Holm-adjusted p-value and best setting. ``--configs budget`` times one configuration
alone (the exhaustive study of 200,000 rows runs for hours on 2 cores).

Measured (2-core machine, load average about 2): the 200,000 x 20 ``--quick`` study under
the budget in 18.4% of the exhaustive time (364 s / 1,976 s), 2 verdicts of 11 changed, both
at Holm p = 0.040; the 50,000 x 20 one in 32.7% (30 epochs), 4 net verdicts of 8 changed.
With racing: 200,000 x 20 ``--quick``, budget 21.7% and the CLI's default (budget and
racing) 19.8% of the exhaustive 1,603 s, 1 verdict of 11 changed (by the budget); 6,366 x 8
full, racing alone 68.2% (104 s / 153 s), the same verdicts.

    python benchmarks/bench_study.py --speed --rows 50000 --features 20 --cli-quick
    python benchmarks/bench_study.py --speed --rows 200000 --features 20 --cli-quick \
        --configs exhaustive budget cli
    python benchmarks/bench_study.py --speed --rows 6366 --features 8 \
        --configs exhaustive raced
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifier,
    ElasticNetRegressor,
    RegularizedNetClassifier,
    compare_regularizers,
)
from skreg.study._stats import cross_fold_choice

N_TRAIN, N_TEST = 500, 100_000
DELTA = 0.002  # a held-out gain smaller than this (R² or accuracy) is no effect


def _regression(rng, coef, noise):
    X = rng.normal(size=(N_TRAIN + N_TEST, len(coef)))
    y = X @ coef + noise * rng.normal(size=len(X))
    return X, y


def l2_task(rng):
    """Many small dense effects, a noisy target: ridge's shrinkage helps."""
    return _regression(rng, rng.normal(scale=0.15, size=40), noise=1.0)


def l1_task(rng):
    """3 strong effects among 40 features: the Lasso's selection helps."""
    coef = np.zeros(40)
    coef[:3] = 1.0
    return _regression(rng, coef, noise=2.0)


def null_regression(rng):
    """5 features, strong signal, 100 rows per feature: least squares is already right."""
    return _regression(rng, np.array([1.0, -1.0, 0.5, 2.0, -0.5]), noise=1.0)


def null_classification(rng):
    """A logistic model with 5 features and 500 rows: nothing to gain from a penalty."""
    X = rng.normal(size=(N_TRAIN + N_TEST, 5))
    logits = X @ np.array([1.0, -1.0, 0.5, 1.5, -0.5])
    return X, (rng.random(len(X)) < 1 / (1 + np.exp(-logits))).astype(int)


def label_noise_task(rng):
    """Two classes, 30% of the labels flipped: label smoothing may help.

    The test rows are flipped too (one generator): cross-validation can only score against
    the labels it has, and on labels flipped at rate r an accuracy gain shrinks by 1 - 2r.
    """
    X = rng.normal(size=(N_TRAIN + N_TEST, 10))
    y = (X[:, 0] + X[:, 1] ** 2 - 1 + 0.3 * rng.normal(size=len(X)) > 0).astype(int)
    flip = rng.random(len(X)) < 0.3
    y[flip] = 1 - y[flip]
    return X, y


def _linear_regressor():
    return make_pipeline(StandardScaler(), ElasticNetRegressor())


def _linear_classifier():
    return make_pipeline(StandardScaler(), ElasticNetClassifier())


def _net():
    return make_pipeline(StandardScaler(), RegularizedNetClassifier(
        (32,), max_iter=60, batch_size=64, learning_rate_init=0.01))


# name -> (generator, model, regularizers, whether nothing can help)
TASKS = {
    "L2 helps": (l2_task, _linear_regressor, None, False),
    "L1 helps": (l1_task, _linear_regressor, None, False),
    "null (regression)": (null_regression, _linear_regressor, None, True),
    "null (classification)": (null_classification, _linear_classifier, None, True),
    "label noise (net)": (label_noise_task, _net,
                          {"label smoothing": [0.1, 0.2], "weight decay": [1e-3, 1e-2]}, False),
}


def held_out_gain(study, row, X_train, y_train, X_test, y_test):
    """The recommended setting of ``row`` and the baseline, refit on all rows, on the test set."""
    results = study.results_[study.results_["regularizer"] == row["regularizer"]]
    params = results.loc[results["mean_test_score"].idxmax(), "params"]
    base = study.base_estimator_
    tuned = clone(base).set_params(**params).fit(X_train, y_train)
    baseline = clone(base).fit(X_train, y_train)
    return tuned.score(X_test, y_test) - baseline.score(X_test, y_test)


def fold_baseline_scores(study, X_train, y_train, X_test, y_test):
    """The baseline trained on each fold's training rows, scored on the test set."""
    return [clone(study.base_estimator_).fit(X_train[train], y_train[train]).score(X_test, y_test)
            for train, _ in study.splits_]


def fold_held_out_gain(study, row, baseline_scores, X_train, y_train, X_test, y_test):
    """What the reported gain estimates: the same per-fold choices, scored on the test set.

    In each fold, the setting the study chose on the other folds and the baseline, both
    trained on that fold's training rows, scored on the 100,000 test rows; the mean over
    the folds. Its difference from the reported gain is the selection bias and test noise of
    the study, free of the training-size effect of cross-validation.
    """
    names = study.results_["regularizer"].to_numpy()
    indices = np.flatnonzero(names == row["regularizer"])
    chosen = cross_fold_choice(study.fold_scores_[indices],
                               np.repeat(np.arange(study.n_repeats_),
                                         len(study.splits_) // study.n_repeats_))
    base = study.base_estimator_
    gains = []
    for fold, (train, _) in enumerate(study.splits_):
        params = study.results_["params"].iloc[indices[chosen[fold]]]
        tuned = clone(base).set_params(**params).fit(X_train[train], y_train[train])
        gains.append(tuned.score(X_test, y_test) - baseline_scores[fold])
    return float(np.mean(gains))


def true_verdict(gain):
    return "helps" if gain > DELTA else "hurts" if gain < -DELTA else "no evidence"


def run(tasks, seeds, repeats):
    records = []
    try:
        _run(tasks, seeds, repeats, records)
    except KeyboardInterrupt:  # Ctrl-C: the figures of the seeds done so far
        print("interrupted: figures of the seeds done so far")
    return pd.DataFrame(records)


def _run(tasks, seeds, repeats, records):
    for task in tasks:
        generate, model, regularizers, null = TASKS[task]
        for seed in seeds:
            rng = np.random.default_rng(seed)
            X, y = generate(rng)
            X_train, y_train, X_test, y_test = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study = compare_regularizers(model(), X_train, y_train, cv=5, n_repeats=repeats,
                                             regularizers=regularizers, random_state=seed,
                                             quick=True)
                data = (X_train, y_train, X_test, y_test)
                baseline_scores = fold_baseline_scores(study, *data)
                for _, row in study.verdicts_.iterrows():
                    truth = held_out_gain(study, row, *data)
                    records.append({"task": task, "seed": seed, "null": null,
                                    "regularizer": row["regularizer"], "verdict": row["verdict"],
                                    "gain": row["gain"], "held_out_gain": truth,
                                    "fold_held_out_gain": fold_held_out_gain(
                                        study, row, baseline_scores, *data),
                                    "truth": true_verdict(truth)})
            print(f"{task:24s} seed {seed:3d}: {time.perf_counter() - start:5.1f} s  "
                  + ", ".join(f"{r}={v}" for r, v in zip(study.verdicts_["regularizer"],
                                                         study.verdicts_["verdict"], strict=True)),
                  flush=True)


def report(frame):
    pd.set_option("display.width", 160)
    frame["agrees"] = frame["verdict"] == frame["truth"]
    print(f"\nAgreement of each verdict with the truth (held-out gain beyond ±{DELTA:g}):")
    table = frame.groupby(["task", "regularizer"], sort=False).agg(
        rows=("agrees", "size"), agreement=("agrees", "mean"),
        helps=("verdict", lambda v: (v == "helps").mean()),
        true_helps=("truth", lambda v: (v == "helps").mean()),
        gain=("gain", "mean"), fold_held_out=("fold_held_out_gain", "mean"),
        held_out_gain=("held_out_gain", "mean"))
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    null = frame[frame["null"]]
    if len(null):
        print(f"\nFalse 'helps' rate on the null tasks: {(null['verdict'] == 'helps').mean():.3f} "
              f"over {len(null)} verdicts (target <= 0.05)")
    for truth, title in (("fold_held_out_gain", "the same per-fold models on the test set "
                          "(selection bias)"),
                         ("held_out_gain", "the recommended setting refit on all 500 rows "
                          "(selection bias + training size)")):
        helped = frame[frame[truth] > DELTA]
        if not len(helped):
            continue
        bias = helped["gain"].mean() - helped[truth].mean()
        print(f"\nBias of the reported gain against {title}, rows with a true gain > {DELTA}: "
              f"{bias:+.4f} on {helped[truth].mean():.4f} ({bias / helped[truth].mean():+.1%}; "
              f"target within ±25%), {len(helped)} rows")
        for task, group in helped.groupby("task", sort=False):
            relative = group["gain"].mean() / group[truth].mean() - 1
            print(f"  {task}: reported {group['gain'].mean():.4f}, true "
                  f"{group[truth].mean():.4f} ({relative:+.1%}, {len(group)} rows)")


def speed_table(n_rows, n_features, seed=0):
    """A regression table: 5 linear effects, one curved, the rest noise columns."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    coef = np.zeros(n_features)
    effects = [1.0, -0.8, 0.6, 0.4, -0.3][:n_features]  # fewer columns: fewer effects
    coef[:len(effects)] = effects
    y = X @ coef + np.sin(2 * X[:, 5 % n_features]) + rng.normal(size=n_rows)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(n_features)])
    return frame, y


# --speed configurations: (the CLI net's epochs from its step budget, screening).
# "exhaustive" is the CLI before the epoch budget and racing (every strength on every fold at
# full size, the net 100 epochs whatever the table); "budget" adds the step budget alone;
# "raced" racing alone (every strength on the first 2 folds of each run, the leader on the
# others); "cli" is the CLI's default today (the budget, and racing from 5,000 rows, 2,000
# with --quick); "screened" and "budget-screened" use successive halving inside each
# training fold (--screening halving) instead.
SPEED_CONFIGS = {"exhaustive": (False, False), "budget": (True, False),
                 "raced": (False, "racing"), "cli": (True, "auto"),
                 "screened": (False, "halving"), "budget-screened": (True, "halving")}


def _verdict_text(study):
    table = study.verdicts_
    return "\n    ".join(f"{name}={verdict} ({gain:+.3g}, p_holm {p:.3f}; {setting})"
                         + (f"\n      flags: {flags}" if flags else "")
                         for name, verdict, gain, p, setting, flags
                         in zip(table["regularizer"], table["verdict"], table["gain"],
                                table["p_holm"], table["best setting"], table["flags"],
                                strict=True))


def speed(n_rows, n_features, cli_quick, n_jobs, which, configs=("exhaustive", "budget")):
    """The CLI's studies in each configuration, timed side by side; verdicts compared."""
    from skreg.study._cli import MAX_EPOCHS, estimators

    X, y = speed_table(n_rows, n_features)
    cv = 3 if cli_quick else 5
    print(f"{n_rows} x {n_features} table, {'--quick' if cli_quick else 'full'} settings, "
          f"{cv}-fold CV repeated 2 times, n_jobs={n_jobs}")
    times, verdicts = {}, {}
    for config in configs:
        start = time.perf_counter()
        for title, model in estimators(X, "regression", which, quick=cli_quick,
                                       random_state=0, cv=cv).items():
            budget, screening = SPEED_CONFIGS[config]
            if not budget and title == "neural net":
                model.set_params(net__regressor__max_iter=MAX_EPOCHS)
            epochs = model.get_params().get("net__regressor__max_iter")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study = compare_regularizers(model, X, y, cv=cv, n_repeats=2, n_jobs=n_jobs,
                                             random_state=0, quick=cli_quick,
                                             screening=screening)
            verdicts[config, title] = dict(zip(study.verdicts_["regularizer"],
                                               study.verdicts_["verdict"], strict=True))
            print(f"  {config:10s} {title:12s} {time.perf_counter() - start:7.1f} s"
                  + (f"  ({epochs} epochs)" if epochs else "")
                  + f"\n    {_verdict_text(study)}", flush=True)
            if study.baseline_flags_:
                print(f"    baseline flags: {'; '.join(study.baseline_flags_)}")
        times[config] = time.perf_counter() - start
    titles = {title for _, title in verdicts}
    reference = configs[0]
    print(f"{reference} time: {times[reference]:.1f} s")
    for config in configs[1:]:
        same = all(verdicts[config, title] == verdicts[reference, title] for title in titles)
        print(f"{config} / {reference} time: {times[config]:.1f} s / {times[reference]:.1f} s "
              f"= {times[config] / times[reference]:.1%}; same verdicts: {same}")
    with open("/proc/loadavg") as handle:
        print("load average after:", handle.read().strip())


def fit_times(n_rows, n_features, cli_quick):
    """One fit of the study's net baseline on a training fold: 100 epochs against the budget.

    Side by side in one run: what every net fit of the exhaustive study costs against the
    same fit under the step budget, where the exhaustive study is too long to time whole.
    """
    from skreg.study._cli import MAX_EPOCHS, estimators
    from skreg.study._grids import NET_OFF

    X, y = speed_table(n_rows, n_features)
    cv = 3 if cli_quick else 5
    n_train = n_rows - -(-n_rows // cv)
    model = estimators(X, "regression", "net", quick=cli_quick, random_state=0,
                       cv=cv)["neural net"]
    model.set_params(**{f"net__regressor__{key}": value for key, value in NET_OFF.items()})
    budget = model.get_params()["net__regressor__max_iter"]
    # A first fit pays for torch's one-time set-up: not part of either timing.
    clone(model).set_params(net__regressor__max_iter=1).fit(X[:200], y[:200])
    times = []
    for epochs in (MAX_EPOCHS, budget):
        start = time.perf_counter()
        clone(model).set_params(net__regressor__max_iter=epochs).fit(X[:n_train], y[:n_train])
        times.append(time.perf_counter() - start)
        print(f"  the baseline net, {n_train} rows, {epochs:3d} epochs: {times[-1]:6.1f} s",
              flush=True)
    print(f"{budget} / {MAX_EPOCHS} epochs, one fit: {times[1] / times[0]:.1%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true",
                        help="time the CLI's studies with and without screening")
    parser.add_argument("--rows", type=int, default=6366, help="--speed: rows of the table")
    parser.add_argument("--features", type=int, default=8, help="--speed: columns")
    parser.add_argument("--cli-quick", action="store_true",
                        help="--speed: the CLI's --quick settings (3 folds, quick grids)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="--speed: parallel fits")
    parser.add_argument("--estimator", choices=["net", "linear", "both"], default="both",
                        help="--speed: the CLI's --estimator")
    parser.add_argument("--configs", nargs="+", choices=SPEED_CONFIGS,
                        default=["exhaustive", "budget"],
                        help="--speed: the studies to time side by side, the first the "
                             "reference of the ratios (default: exhaustive budget)")
    parser.add_argument("--fit-times", action="store_true",
                        help="--speed: time one fit of the net baseline on a training fold, "
                             "100 epochs against the step budget, instead of the studies")
    parser.add_argument("--quick", action="store_true", help="4 seeds, linear tasks only")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 20, 4 with --quick)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="n_repeats of the study (default 2, as the CLI's full mode)")
    parser.add_argument("--tasks", nargs="*", choices=list(TASKS), help="tasks to run")
    args = parser.parse_args()
    if args.speed:
        with open("/proc/loadavg") as handle:
            print("load average:", handle.read().strip())
        if args.fit_times:
            fit_times(args.rows, args.features, args.cli_quick)
            return
        speed(args.rows, args.features, args.cli_quick, args.n_jobs, args.estimator,
              tuple(args.configs))
        return
    n_seeds = args.seeds or (4 if args.quick else 20)
    tasks = args.tasks or [t for t in TASKS if not (args.quick and "net" in t)]
    with open("/proc/loadavg") as handle:
        print("load average:", handle.read().strip())
    print(f"{n_seeds} seeds, 5-fold cross-validation x {args.repeats} repeat(s)")
    report(run(tasks, range(n_seeds), args.repeats))


if __name__ == "__main__":
    main()
