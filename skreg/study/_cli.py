"""``python -m skreg.study DATA.csv --target COLUMN``: the regularization study of a CSV file.

Reads the CSV with pandas (separator detected, encoding utf-8 unless told), refuses what
would make a study silently wrong (duplicate column names, infinite values), checks the report
path, builds the preprocessing (median imputation and scaling of numeric columns,
most-frequent imputation and one-hot encoding of the others), detects classification or
regression from the target, runs :func:`compare_regularizers` for a neural net and / or a
linear model, writes the HTML report and prints the headline tables. One progress bar counts
the fits; their warnings are summed up in one line and listed in the report. ``--scheduler
ADDRESS`` runs the fits on a Dask cluster (joblib's Dask backend).
"""

import argparse
import codecs
import contextlib
import csv
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from skreg.neural._building import AUTO_BATCH_SIZE
from skreg.study._files import report_target

# An integer target is taken for class labels when it has at most this many distinct values
# and on average at least _MIN_ROWS_PER_CLASS rows per value (5-fold stratified CV needs 5 per
# class); a target with two values is a class label at any size.
_MAX_INTEGER_CLASSES = 20
_MIN_ROWS_PER_CLASS = 5
# Separators tried when --sep is not given; the first lines of the file decide.
_SEPARATORS = ",;\t|"
# A number written with a decimal comma (and no thousands separator).
_DECIMAL_COMMA = r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?"
# The net's training length is a budget of optimizer steps rather than a number of epochs:
# on 100,000 rows an epoch is 500 steps (batches of 200), and 100 of them trained the nets far
# past convergence (most of a large study's time). A training fold of up to 10,000 rows keeps
# 100 epochs; a larger one trains about STEP_BUDGET steps, and at least MIN_EPOCHS epochs so
# that early stopping (patience 10) can act and the under-training check (the loss trend of
# the last tenth of the epochs) has a tail to read. The study's check flags a baseline whose
# loss is still falling at the end: the guard if a table needs more.
MAX_EPOCHS, MIN_EPOCHS = 100, 20
STEP_BUDGET = 5_000


def default_cv(quick):
    """The number of folds when --cv is not given."""
    return 3 if quick else 5


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
    parser.add_argument("--sep", type=_separator,
                        help="column separator, e.g. ';' or '\\t' (default: detected from the "
                             "first lines among , ; tab and |)")
    parser.add_argument("--encoding", type=_encoding, default="utf-8",
                        help="text encoding of the file (default: utf-8; e.g. cp1252 for "
                             "files saved by Excel on Windows)")
    parser.add_argument("--decimal", choices=[".", ","],
                        help="decimal mark of the numbers (default: '.', or ',' when the "
                             "separator is not a comma and a text column holds only numbers "
                             "written with a decimal comma, such as 3,75)")
    parser.add_argument("--estimator", choices=["net", "linear", "both"], default="both",
                        help="what to study (default: both)")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the detected task (text, booleans and integers with "
                             "at most 20 values, 5 rows each on average, are class labels)")
    parser.add_argument("--out", default="report",
                        help="report folder, or a page name ending in .html (its figures go to "
                             "a folder NAME_files beside it) (default: report); checked before "
                             "the first fit")
    parser.add_argument("--force", action="store_true",
                        help="write the report into a folder that holds other files (they are "
                             "kept; only the files of an earlier report are replaced)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller grids, 3 folds (repeated twice): a first look")
    parser.add_argument("--screening", choices=["auto", "racing", "halving", "off"],
                        default="auto",
                        help="how the strengths are searched. racing: every strength on the "
                             "first 2 folds of each run, the leader there on the others "
                             "(nested, full size); halving: successive halving on subsamples "
                             "inside each training fold (faster on large grids, biased towards "
                             "strong settings); off: every strength on every fold. auto "
                             "(default): racing on tables of 5,000 rows or more (2,000 with "
                             "--quick), else off. See the user guide")
    parser.add_argument("--cv", type=int, help="number of folds (default: 5, 3 with --quick)")
    parser.add_argument("--epochs", type=_positive_int,
                        help="epochs the neural net trains (default: see below)")
    # --help says how long the net trains (net_epochs): a step budget, not a fixed 100 epochs.
    parser.epilog = (
        f"The neural net trains {MAX_EPOCHS} epochs on training folds of up to "
        f"{STEP_BUDGET * AUTO_BATCH_SIZE // MAX_EPOCHS:,} rows; on larger ones, about "
        f"{STEP_BUDGET:,} optimizer steps (batches of {AUTO_BATCH_SIZE} rows) and at least "
        f"{MIN_EPOCHS} epochs: a large table needs fewer passes over its rows. Training "
        "length is itself a regularizer: on large tables the verdicts of early stopping and "
        "of regularizers that slow training down can differ from those of a longer training "
        f"(--epochs {MAX_EPOCHS} trains as long as on small tables)."
    )
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="parallel fits (default: -1, every core)")
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the fits on the Dask cluster of this scheduler, e.g. "
                             "tcp://10.0.0.5:8786 (needs pip install 'skreg[dask]')")
    return parser


def _separator(text):
    """``--sep``: one character; ``\\t`` and ``tab`` for a tab."""
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"the separator must be one character, got {text!r}")
    return text


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def _encoding(name):
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {name!r}") from None


def _sniff_separator(path, encoding):
    """The separator of the file's first lines among ``_SEPARATORS``; a comma when unclear."""
    with open(path, encoding=encoding, newline="") as file:
        sample = file.read(64 * 1024)
    if len(sample) == 64 * 1024 and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
    except csv.Error:  # one column, or no separator stands out
        return ","


def _decimal_comma_columns(frame):
    """Text columns whose every value is a number written with a decimal comma (``-3,75``,
    ``1,5e3``; at least one with a comma): numbers, not categories, in a file from a locale
    that writes them so."""
    found = []
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty or _is_numeric(values) or values.dtype == bool:
            continue
        text = values.astype(str).str.strip()
        if text.str.fullmatch(_DECIMAL_COMMA).all() and text.str.contains(",").any():
            found.append(column)
    return found


def read_table(path, *, sep=None, encoding="utf-8", decimal=None):
    """The CSV as a DataFrame, or an InputError naming what is wrong with the file.

    ``sep=None`` detects the separator. ``decimal=None`` reads numbers with a decimal point,
    or with a decimal comma when the separator is not a comma and some text column holds
    only such numbers (``frame.attrs["decimal"]`` says which). Duplicate column names are an
    error: pandas would rename the second ``y`` to ``y.1`` and keep it as a feature, a copy
    of the target.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        sep = sep or _sniff_separator(path, encoding)
        header = pd.read_csv(path, sep=sep, encoding=encoding, header=None, nrows=1,
                             dtype=str, keep_default_na=False).iloc[0].tolist()
        frame = pd.read_csv(path, sep=sep, encoding=encoding, decimal=decimal or ".")
        if decimal is None and sep != "," and _decimal_comma_columns(frame):
            decimal = ","
            frame = pd.read_csv(path, sep=sep, encoding=encoding, decimal=decimal)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path} is not a readable CSV file: {str(exc).strip()}") from None
    except UnicodeDecodeError as exc:
        fix = "give its encoding, e.g. --encoding cp1252" if encoding == "utf-8" \
            else "try another --encoding"
        raise InputError(f"{path} is not {encoding} text (byte 0x{exc.object[exc.start]:02x}): "
                         f"{fix}") from None
    names = [name for name in header if name != ""]  # pandas names blank ones "Unnamed: i"
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"{path} has duplicate column names: "
                         + ", ".join(f"{name!r} ({names.count(name)} times)"
                                     for name in duplicates))
    if frame.empty:
        raise InputError(f"{path} has a header but no data rows")
    frame.attrs["decimal"] = decimal or "."
    return frame


def _is_numeric(column):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _detect_task(target):
    """Classification for labels (text, booleans, a few integers), regression otherwise."""
    if not _is_numeric(target):
        return "classification"
    values = target.to_numpy(dtype=float)
    n_values = target.nunique()
    labels = np.all(values == np.round(values)) and (
        n_values <= 2
        or (n_values <= _MAX_INTEGER_CLASSES and len(values) >= _MIN_ROWS_PER_CLASS * n_values)
    )
    return "classification" if labels else "regression"


def _plain(value):
    """A value as the user wrote it: 3075.0 or 'yes', not np.float64(3075.0)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _check_finite(X, y, target):
    """Infinite values: an error naming the target, or the feature columns and rows' count.

    Missing values are fine (rows without a target are dropped, features are imputed), but
    no imputer handles inf: every fit would fail, or every score would be NaN.
    """
    count = int(np.isinf(y.to_numpy(dtype=float, na_value=np.nan)).sum()) if _is_numeric(y) else 0
    if count:
        raise InputError(f"target column {target!r} holds {count} infinite value"
                         f"{'s' if count > 1 else ''} (inf or -inf): remove those rows, or "
                         "leave the cells empty to have the rows dropped")
    numeric = X[[column for column in X.columns if _is_numeric(X[column])]]
    infinite = np.isinf(numeric.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        columns = [repr(column) for column in numeric.columns[infinite.any(axis=0)]]
        rows = int(infinite.any(axis=1).sum())
        which = (f"feature columns {', '.join(columns)} hold" if len(columns) > 1
                 else f"feature column {columns[0]} holds")
        raise InputError(f"{which} infinite values (inf or -inf) in "
                         f"{rows} row{'s' if rows > 1 else ''}: replace them, or leave the "
                         "cells empty to have them imputed")


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
    _check_finite(X, y, target)
    task = task or _detect_task(y)
    if task == "regression":
        if not _is_numeric(y):
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
            raise InputError(f"target {target!r} has a single class ({_plain(classes[0])}): "
                             "nothing to classify")
        if counts.min() < cv:
            rare = _plain(classes[np.argmin(counts)])
            quantity = ", or --task regression if it is a quantity" if _is_numeric(
                frame[target]) else ""
            raise InputError(f"class {rare} of target {target!r} has {counts.min()} "
                             f"row{'s' if counts.min() > 1 else ''}; "
                             f"{cv}-fold cross-validation needs at least {cv} per class "
                             f"(lower --cv or drop the class{quantity})")
    n_categorical = len(_categorical_columns(X))
    description = (
        f"{source}: target {target!r}, {task}"
        + (f" ({len(np.unique(y))} classes)" if task == "classification" else "")
        + f"; {len(X)} rows ({int(missing.sum())} dropped for a missing target); "
        f"{X.shape[1] - n_categorical} numeric and {n_categorical} categorical feature columns"
        + (" (numbers read with a decimal comma)" if frame.attrs.get("decimal") == "," else "")
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


def net_epochs(n_train):
    """The CLI net's ``max_iter`` for training folds of ``n_train`` rows.

    ``clip(ceil(STEP_BUDGET / steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS)``: 100 epochs up to
    10,000 rows, then a budget of about 5,000 optimizer steps, never under 20 epochs.
    """
    steps_per_epoch = max(math.ceil(n_train / AUTO_BATCH_SIZE), 1)
    return int(np.clip(math.ceil(STEP_BUDGET / steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS))


def estimators(X, task, which, *, quick, random_state, cv=None, epochs=None):
    """``{title: Pipeline}`` of the estimators to study.

    ``cv``: the number of folds, whose training size sets the net's epochs
    (:func:`net_epochs`; default: 3 with ``quick``, else 5), unless ``epochs`` is given.
    """
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
        # under-trained, and every regularizer that speeds up training seemed to help. The
        # length depends on the rows of a training fold, not on the mode.
        cv = cv or default_cv(quick)
        if epochs is None:  # from the smallest training fold
            epochs = net_epochs(len(X) - math.ceil(len(X) / cv))
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


# How long to try reaching a --scheduler before giving up (distributed retries until then).
_CONNECT_TIMEOUT = "10s"


def _dask_cluster(address):
    """A context running joblib's fits on the Dask scheduler at ``address`` (None: local).

    Connects at once, so that a wrong address fails in seconds, not after a study; an
    InputError if the scheduler cannot be reached.
    """
    if address is None:
        return contextlib.nullcontext()
    import joblib

    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'skreg[dask]'") \
            from None
    try:
        client = Client(address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    stack = contextlib.ExitStack()
    stack.enter_context(client)  # closes the connection, not the cluster
    stack.enter_context(client.as_current())
    stack.enter_context(joblib.parallel_config("dask"))
    return stack


def main(argv=None):
    """Run the CLI; return the exit status (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    cv = args.cv or default_cv(args.quick)
    try:
        if cv < 2:
            raise InputError(f"--cv must be at least 2, got {cv}")
        frame = read_table(args.data, sep=args.sep, encoding=args.encoding,
                           decimal=args.decimal)
        X, y, task, description = prepare(frame, args.target, args.task, cv,
                                          Path(args.data).name)
        # Before the first fit: a study is not run for a report that cannot be written,
        # nor on a scheduler that cannot be reached.
        report_target(args.out, force=args.force, force_option="--force")
        cluster = _dask_cluster(args.scheduler)
    except (InputError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    from skreg.study import compare_regularizers, write_report
    from skreg.study._progress import FitWarningsSummary, as_fit_warning, summarize

    print(description)
    studies, start = {}, time.perf_counter()
    # The fits' warnings (workers too) come back in study.warnings_: one line below and the
    # list in the report, instead of one stderr line each.
    with cluster, warnings.catch_warnings(record=True) as caught:
        for title, model in estimators(X, task, args.estimator, quick=args.quick,
                                       random_state=args.random_state, cv=cv,
                                       epochs=args.epochs).items():
            studies[title] = compare_regularizers(
                model, X, y, cv=cv, n_jobs=args.n_jobs, random_state=args.random_state,
                quick=args.quick, verbose=1, n_repeats=2,
                screening=False if args.screening == "off" else args.screening,
            )
    for title, study in studies.items():
        print(f"\n{title} ({study.scoring_}, {study.describe_cv()})")
        print(headline(study))
    try:
        index = write_report(
            studies, args.out, title=f"Regularization study: {Path(args.data).name}",
            descriptions=dict.fromkeys(studies, description), force=args.force,
        )
    except OSError as exc:  # the folder changed during the study, or the disk is full
        print(f"{parser.prog}: error: the report was not written: {exc}", file=sys.stderr)
        return 1
    fit_warnings = [record for study in studies.values() for record in study.warnings_]
    fit_warnings += [as_fit_warning(record) for record in caught
                     if not issubclass(record.category, FitWarningsSummary)]
    if fit_warnings:
        print(f"\n{summarize(fit_warnings)} (all listed in the report)")
    print(f"\nreport: {index.resolve()}  ({time.perf_counter() - start:.0f} s)")
    return 0
