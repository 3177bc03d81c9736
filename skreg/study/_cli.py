"""``python -m skreg.study DATA.csv --target COLUMN``: the regularization study of a CSV file.

Reads the CSV with pandas, builds the preprocessing (median imputation and scaling of numeric
columns, most-frequent imputation and one-hot encoding of the others), detects classification
or regression from the target, runs :func:`compare_regularizers` for a neural net and / or a
linear model, writes the HTML report and prints the headline tables.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

# An integer target with at most this many distinct values is taken for class labels.
_MAX_INTEGER_CLASSES = 20


class InputError(Exception):
    """Bad input: reported as one line, exit status 2."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skreg.study",
        description="Which regularizer helps on this data, and by how much: cross-validates "
                    "each regularizer of a neural net and of a linear model against the "
                    "unregularized baseline and writes an HTML report.",
    )
    parser.add_argument("data", help="CSV file with a header row")
    parser.add_argument("--target", required=True, help="column to predict")
    parser.add_argument("--estimator", choices=["net", "linear", "both"], default="both",
                        help="what to study (default: both)")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the detected task")
    parser.add_argument("--out", default="report", help="report folder (default: report)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller grids, 3 folds (repeated twice): a first look")
    parser.add_argument("--cv", type=int, help="number of folds (default: 5, 3 with --quick)")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="parallel fits (default: -1, every core)")
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    return parser


def read_table(path):
    """The CSV as a DataFrame, or an InputError naming what is wrong with the file."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path} is not a readable CSV file: {str(exc).strip()}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    if frame.empty:
        raise InputError(f"{path} has a header but no data rows")
    return frame


def _detect_task(target):
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    values = target.to_numpy(dtype=float)
    integers = np.all(values == np.round(values))
    return ("classification" if integers and target.nunique() <= _MAX_INTEGER_CLASSES
            else "regression")


def prepare(frame, target, task, cv, source):
    """Split features and target, check them, and return ``(X, y, task, description)``."""
    import pandas as pd

    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        more = ", ..." if len(frame.columns) > 20 else ""
        raise InputError(f"column {target!r} not found in {source} (columns: {columns}{more})")
    missing = frame[target].isna()
    frame = frame.loc[~missing]
    if frame.empty:
        raise InputError(f"target column {target!r} has no values")
    X = frame.drop(columns=[target]).dropna(axis=1, how="all")
    if X.shape[1] == 0:
        raise InputError(f"{source} has no feature column besides the target {target!r}")
    y = frame[target]
    task = task or _detect_task(y)
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InputError(f"target {target!r} is not numeric: use --task classification")
        y = y.to_numpy(dtype=float)
        if np.ptp(y) == 0:
            raise InputError(f"target {target!r} is constant ({y[0]:g}): nothing to predict")
        if len(y) < 2 * cv:
            raise InputError(f"{len(y)} rows are too few for {cv}-fold cross-validation")
    else:
        y = y.astype(str).to_numpy() if not pd.api.types.is_numeric_dtype(y) else y.to_numpy()
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise InputError(f"target {target!r} has a single class ({classes[0]!r}): "
                             "nothing to classify")
        if counts.min() < cv:
            rare = classes[np.argmin(counts)]
            raise InputError(f"class {rare!r} of target {target!r} has {counts.min()} rows; "
                             f"{cv}-fold cross-validation needs at least {cv} per class "
                             "(lower --cv or drop the class)")
    n_categorical = len(_categorical_columns(X))
    description = (
        f"{source}: target {target!r}, {task}"
        + (f" ({len(np.unique(y))} classes)" if task == "classification" else "")
        + f"; {len(X)} rows ({int(missing.sum())} dropped for a missing target); "
        f"{X.shape[1] - n_categorical} numeric and {n_categorical} categorical feature columns"
    )
    return X, y, task, description


def _categorical_columns(X):
    import pandas as pd

    return [column for column in X.columns
            if not pd.api.types.is_numeric_dtype(X[column])
            or pd.api.types.is_bool_dtype(X[column])]


def preprocessing(X):
    """Imputation, scaling and one-hot encoding of the columns of X, as a ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = _categorical_columns(X)
    numeric = [column for column in X.columns if column not in categorical]
    return ColumnTransformer(
        [("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                   StandardScaler()), numeric),
         ("categorical", make_pipeline(
             SimpleImputer(strategy="most_frequent"),
             # Rare categories are pooled, so an ID-like column cannot explode the width.
             OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30,
                           sparse_output=False)), categorical)],
        sparse_threshold=0.0,  # the nets take dense arrays
    )


def estimators(X, task, which, *, quick, random_state):
    """``{title: Pipeline}`` of the estimators to study."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from skreg import (
        ElasticNetClassifier,
        ElasticNetRegressor,
        RegularizedNetClassifier,
        RegularizedNetRegressor,
    )

    models = {}
    if which in ("net", "both"):
        # Quick mode trains as long as the full study: a baseline cut short at 30 epochs was
        # under-trained, and every regularizer that speeds up training seemed to help.
        epochs = 100
        if task == "classification":
            net = RegularizedNetClassifier(max_iter=epochs, random_state=random_state)
        else:  # the net learns a standardized target: one learning rate fits any scale
            net = TransformedTargetRegressor(
                RegularizedNetRegressor(max_iter=epochs, random_state=random_state),
                transformer=StandardScaler(),
            )
        models["neural net"] = Pipeline([("preprocess", preprocessing(X)), ("net", net)])
    if which in ("linear", "both"):
        linear = ElasticNetClassifier() if task == "classification" else ElasticNetRegressor()
        models["linear model"] = Pipeline([("preprocess", preprocessing(X)),
                                           ("linear", linear)])
    return models


def headline(study):
    """The verdicts as text: the summary table (from ``verdicts_``), its flags, one sentence."""
    table = study.summary()
    flags = [(row["regularizer"], row["flags"]) for _, row in table.iterrows() if row["flags"]]
    baseline_flags = "; ".join(study.baseline_flags_)
    table["95% CI"] = [f"[{low:+.3g}, {high:+.3g}]" if np.isfinite(low) else ""
                       for low, high in zip(table["ci_low"], table["ci_high"], strict=True)]
    table = table[["regularizer", "best setting", "test score", "std", "gain", "95% CI",
                   "p_holm", "verdict", "train-test gap", "fit time (s)"]]
    text = table.to_string(index=False, na_rep="", formatters={
        "test score": "{:.4g}".format, "std": "{:.2g}".format,
        "gain": lambda v: "" if not np.isfinite(v) else f"{v:+.3g}",
        "p_holm": lambda v: "" if not np.isfinite(v) else f"{v:.3f}",
        "train-test gap": "{:.3g}".format, "fit time (s)": "{:.2f}".format,
    })
    for name, flag in flags:
        if name != "baseline":
            flag = flag.replace(baseline_flags, "").strip("; ")
        if flag:
            text += f"\n  ! {name}: {flag}"
    return text + "\n" + study.verdict()


def main(argv=None):
    """Run the CLI; return the exit status (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    cv = args.cv or (3 if args.quick else 5)
    try:
        if cv < 2:
            raise InputError(f"--cv must be at least 2, got {cv}")
        frame = read_table(args.data)
        X, y, task, description = prepare(frame, args.target, args.task, cv,
                                          Path(args.data).name)
    except InputError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    from skreg.study import compare_regularizers, write_report

    print(description)
    studies, start = {}, time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for title, model in estimators(X, task, args.estimator, quick=args.quick,
                                       random_state=args.random_state).items():
            studies[title] = compare_regularizers(
                model, X, y, cv=cv, n_jobs=args.n_jobs, random_state=args.random_state,
                quick=args.quick, verbose=1, n_repeats=2,
            )
    for title, study in studies.items():
        print(f"\n{title} ({study.scoring_}, {study.describe_cv()})")
        print(headline(study))
    index = write_report(
        studies, args.out, title=f"Regularization study: {Path(args.data).name}",
        descriptions=dict.fromkeys(studies, description),
    )
    if caught:
        kinds = sorted({w.category.__name__ for w in caught})
        print(f"\n{len(caught)} warnings while fitting ({', '.join(kinds)})")
    print(f"\nreport: {index.resolve()}  ({time.perf_counter() - start:.0f} s)")
    return 0
