"""The bad-input matrix: every public estimator against bad or edge inputs and failing calls.

Each cell runs one case on one estimator and sorts what happened into one of
:data:`OUTCOMES`: a clear error (the expected exception type, with a message naming the
problem), a clear warning, a correct result, a silently wrong result (the call returned, but
the result or the estimator's state is wrong) or an unhelpful failure (another exception, or a
message that does not say what is wrong). ``tests/test_robustness.py`` asserts that every cell
is one of the first three; ``benchmarks/audit_robustness.py`` prints the counts.

Only scikit-learn, numpy, scipy and pandas are needed besides the estimators, so the same
cells can audit an older skreg. Families of cells may live in files next to this one (loaded
by path, see :func:`_sibling_cases`): ``_robustness_numbers.py`` holds those for overflow and
tiny scales, the path display and scikit-learn's private API.
"""

import os
import pickle
import re
import sys
import warnings

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)

OUTCOMES = ("clear error", "clear warning", "correct", "silently wrong", "unhelpful failure")
GOOD_OUTCOMES = OUTCOMES[:3]


class Outcome(tuple):
    """``(kind, detail)``."""

    def __new__(cls, kind, detail=""):
        return super().__new__(cls, (kind, detail))


def make_data(estimator, n_samples=60, n_features=4, seed=0):
    """Small standardized data with signal: class labels, a target, or none (transformers)."""
    X, labels = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=3, n_redundant=0,
        class_sep=2.0, random_state=seed,
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if is_classifier(estimator):
        return X, labels
    if is_regressor(estimator):
        return X, X @ np.array([1.0, -2.0, 0.5, 0.0][:n_features]) + 0.1 * labels
    return X, None


def _fit(estimator, X, y):
    return estimator.fit(X) if y is None else estimator.fit(X, y)


def _output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    if hasattr(estimator, "predict"):
        return estimator.predict(X)
    return estimator.transform(X)


def _problem_with_output(estimator, X, y):
    """None when the fitted estimator's output on X is finite and not worse than chance."""
    output = np.asarray(_output(estimator, X))
    if len(output) != X.shape[0]:
        return f"output has {len(output)} rows for {X.shape[0]} samples"
    if output.dtype.kind in "fc" and not np.all(np.isfinite(output)):
        return "non-finite output"
    if is_classifier(estimator):
        chance = np.max(np.unique(y, return_counts=True)[1]) / len(y)
        accuracy = np.mean(estimator.predict(X) == y)
        if accuracy < chance - 0.1:
            return f"training accuracy {accuracy:.2f} below chance {chance:.2f}"
    elif is_regressor(estimator):
        scale = np.max(np.abs(y))  # compare in units of y's scale: no overflow for huge y
        residual = np.mean(((estimator.predict(X) - y) / scale) ** 2)
        if not residual <= 1.1 * np.var(y / scale):
            return "training mean squared error above var(y)"
    return None


def _run(call, errors, warns=None, check=None):
    """Classify ``call()``: errors / warnings matching the patterns, or ``check(result)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except (ValueError, TypeError) as exc:
            if errors and re.search(errors, str(exc), flags=re.IGNORECASE | re.DOTALL):
                return Outcome("clear error", str(exc)[:160])
            return Outcome("unhelpful failure", f"{type(exc).__name__}: {str(exc)[:160]}")
        except Exception as exc:  # noqa: BLE001 - what failed and how is the finding
            return Outcome("unhelpful failure", f"{type(exc).__name__}: {str(exc)[:160]}")
    if warns and any(re.search(warns, str(w.message), flags=re.IGNORECASE) for w in caught):
        return Outcome("clear warning", str(caught[-1].message)[:160])
    problem = check(result) if check is not None else None
    return Outcome("silently wrong", problem) if problem else Outcome("correct")


def _fitted_state(estimator, X):
    output = np.asarray(_output(estimator, X))
    names = getattr(estimator, "feature_names_in_", None)
    return (output, None if names is None else list(names),
            getattr(estimator, "n_features_in_", None), getattr(estimator, "n_iter_", None))


def _state_problem(before, after):
    for what, old, new in zip(("predictions", "feature_names_in_", "n_features_in_", "n_iter_"),
                              before, after, strict=True):
        same = (np.array_equal(old, new) if isinstance(old, np.ndarray)
                else old == new)
        if not same:
            return f"{what} changed by the failed call"
    return None


def _failed_call_keeps_model(estimator, X, y, fail, errors, frame=True):
    """Fit, then ``fail(estimator)`` must raise a clear error and leave the model as it was."""
    import pandas as pd

    X_fit = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]) if frame else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(estimator, X_fit, y)
        before = _fitted_state(estimator, X_fit)
    outcome = _run(lambda: fail(estimator), errors)
    if outcome[0] != "clear error":
        return outcome if outcome[0] == "unhelpful failure" else Outcome(
            "silently wrong", "the bad call did not fail")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = _state_problem(before, _fitted_state(estimator, X_fit))
    except Exception as exc:  # noqa: BLE001
        return Outcome("silently wrong", f"model broken after the failed call: {exc!r}"[:160])
    return Outcome("silently wrong", problem) if problem else outcome


def _invalid_params(estimator):
    """{name: a value no constraint of the hyperparameter admits}, as scikit-learn's
    ``check_param_validation`` generates them (parameters without such a value are skipped).
    """
    invalid = {}
    for name, raw in getattr(estimator, "_parameter_constraints", {}).items():
        if name not in estimator.get_params(deep=False) or "no_validation" in raw:
            continue
        constraints = [make_constraint(constraint) for constraint in raw]
        for constraint in constraints:
            try:
                value = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            if not any(other.is_satisfied_by(value) for other in constraints):
                invalid[name] = value
                break
    return invalid


def _bad_params(estimator, X, y):
    bad = []
    for name, value in _invalid_params(estimator).items():
        candidate = clone(estimator).set_params(**{name: value})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _fit(candidate, X, y)
        except InvalidParameterError as exc:
            if name not in str(exc):
                bad.append(f"{name}: message does not name it")
        except Exception as exc:  # noqa: BLE001
            bad.append(f"{name}: {type(exc).__name__}")
        else:
            bad.append(f"{name}={value!r} accepted")
    if bad:
        return Outcome("unhelpful failure", "; ".join(bad)[:160])
    return Outcome("clear error", "every invalid hyperparameter named")


def _skops_round_trip(estimator, X, y):
    import skops.io as sio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(estimator, X, y)
    expected = _output(estimator, X)
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    public = {f"{type(estimator).__module__}.{type(estimator).__name__}"}
    others = sorted(set(untrusted) - public)
    if others:
        return Outcome("unhelpful failure", f"skops asks to trust {others}"[:160])
    loaded = sio.loads(data, trusted=untrusted)
    if not np.allclose(_output(loaded, X), expected):
        return Outcome("silently wrong", "predictions changed by the round trip")
    return Outcome("correct")


def _pickle_round_trip(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(estimator, X, y)
    loaded = pickle.loads(pickle.dumps(estimator))
    if not np.allclose(_output(loaded, X), _output(estimator, X)):
        return Outcome("silently wrong", "predictions changed by the round trip")
    return Outcome("correct")


def _with(X, row, column, value):
    X = X.copy()
    X[row, column] = value
    return X


def _strings(X):
    X = X.astype(object)
    X[0, 0] = "a"
    return X


def _categorical(X, labels):
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["x0"] = pd.Categorical(np.asarray(labels)[(X[:, 0] > 0).astype(int)])
    return frame


def _sparse(X):
    from scipy import sparse

    return sparse.csr_matrix(X)


def _is_net(estimator):
    return "learning_rate_init" in estimator.get_params(deep=False)


def _supervised(estimator):
    return is_classifier(estimator) or is_regressor(estimator)


_MAGNITUDE = r"magnitude|scale|overflow|too large|infinity|standardize"
_FIT_CASES = {
    # name: (applies, X transform, y transform, expected error pattern, warning pattern)
    "NaN in X": (None, lambda X: _with(X, 0, 0, np.nan), None, r"NaN", None),
    "inf in X": (None, lambda X: _with(X, 0, 0, np.inf), None, r"infinity", None),
    "NaN in y": (_supervised, None, lambda y: _with(y.astype(float)[:, None], 0, 0, np.nan)
                 .ravel(), r"NaN|finite|Unknown label", None),
    "empty X": (None, lambda X: X[:0], lambda y: y[:0], r"0 sample|minimum of 1|empty", None),
    "one sample": (None, lambda X: X[:1], lambda y: y[:1],
                   r"sample|class|n_codes|batch", None),
    "one class": (is_classifier, None, lambda y: np.zeros_like(y), r"class", None),
    "strings in X": (None, _strings, None, r"string|convert|float", None),
    "categorical strings": (None, lambda X: _categorical(X, ["lo", "hi"]), None,
                            r"string|convert|categor|float", None),
    "categorical numbers": (None, lambda X: _categorical(X, [1.0, 2.0]), None, None, None),
    "huge X (1e30)": (None, lambda X: X * 1e30, None, _MAGNITUDE, _MAGNITUDE),
    "tiny X (1e-30)": (None, lambda X: X * 1e-30, None, _MAGNITUDE, _MAGNITUDE),
    "float16 X": (None, lambda X: X.astype(np.float16), None, None, None),
    "sparse X": (None, _sparse, None, r"sparse|dense", None),
    "string y": (is_regressor, None, lambda y: np.array(["a"] * len(y), dtype=object),
                 r"string|convert|numeric|float", None),
    "y beyond float32": (is_regressor, None, lambda y: y * 1e300,
                         r"y .*(magnitude|float32|overflow|too large|scale)", None),
}


def _fit_case(name):
    applies, change_X, change_y, errors, warns = _FIT_CASES[name]

    def run(estimator, X, y):
        X_bad = X if change_X is None else change_X(X)
        y_bad = y if (change_y is None or y is None) else change_y(y)

        def check(fitted):
            try:
                if name == "one sample":  # nothing to learn from: a finite output is right
                    output = np.asarray(_output(fitted, X))
                    return None if output.dtype.kind not in "fc" or np.all(
                        np.isfinite(output)) else "non-finite output"
                return _problem_with_output(fitted, _as_float(X_bad), y)
            except Exception as exc:  # noqa: BLE001
                return f"predicting after the fit fails: {type(exc).__name__}: {exc}"[:160]

        return _run(lambda: _fit(estimator, X_bad, y_bad), errors, warns, check)

    return applies, run


def _as_float(X):
    if hasattr(X, "toarray") or hasattr(X, "columns"):
        return X
    return np.asarray(X, dtype=np.float64) if X.dtype.kind == "f" else X


def _wrong_width(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(estimator, X, y)
    return _run(lambda: _output(estimator, X[:, :-1]), r"features")


def _huge_at_predict(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(estimator, X, y)

    def check(output):
        output = np.asarray(output)
        return "non-finite output" if output.dtype.kind in "fc" and not np.all(
            np.isfinite(output)) else None

    return _run(lambda: _output(estimator, X * 1e30), _MAGNITUDE, check=check)


def _failed_refit(estimator, X, y):
    X_bad = _with(X, 0, 0, np.nan)[:, :-1]
    return _failed_call_keeps_model(
        estimator, X, y, lambda est: _fit(est, X_bad, y), r"NaN|features")


def _failed_set_params_refit(estimator, X, y):
    name, value = next(iter(_invalid_params(estimator).items()))
    return _failed_call_keeps_model(
        estimator, X, y, lambda est: _fit(est.set_params(**{name: value}), X, y),
        re.escape(name))


def _failed_partial_fit(estimator, X, y):
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame.iloc[0, 0] = np.nan
    kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}

    def fail(est):
        return est.partial_fit(frame, **kwargs) if y is None else est.partial_fit(
            frame, y, **kwargs)

    return _failed_call_keeps_model(estimator, X, y, fail, r"NaN")


def _diverging_learning_rate(estimator, X, y):
    estimator.set_params(learning_rate_init=1e6)
    return _run(lambda: _fit(estimator, X, y), r"diverged.*learning_rate_init",
                check=lambda fitted: _problem_with_output(fitted, X, y))


def _batch_norm_one_sample(estimator, X, y):
    estimator.set_params(batch_norm=True)
    kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}
    return _failed_call_keeps_model(
        estimator, X, y, lambda est: est.partial_fit(X[:1], y[:1], **kwargs),
        r"batch_norm.*2 samples", frame=False)


def sigint_outcome(name, params, mode, **kwargs):
    """Send a real SIGINT to a net training in a subprocess; an :class:`Outcome` (see
    ``_robustness_sigint.sigint_outcome``)."""
    kind, detail = _sibling("_robustness_sigint").sigint_outcome(
        name, params, mode, cells_file=os.path.abspath(__file__), **kwargs)
    return Outcome(kind, detail)


def _sigint(mode):
    def run(estimator, X, y):
        params = {key: value for key, value in estimator.get_params(deep=False).items()
                  if isinstance(value, (int, float, str, bool, type(None), tuple))}
        return sigint_outcome(type(estimator).__name__, params, mode)

    return run


def _has_partial_fit(estimator):
    return hasattr(estimator, "partial_fit")


CASES = {
    **{name: _fit_case(name) for name in _FIT_CASES},
    "wrong width at predict": (None, _wrong_width),
    "huge X at predict": (None, _huge_at_predict),
    "bad hyperparameters": (None, _bad_params),
    "failed refit keeps the model": (None, _failed_refit),
    "failed set_params refit keeps the model": (None, _failed_set_params_refit),
    "failed partial_fit keeps the model": (_has_partial_fit, _failed_partial_fit),
    "diverging learning rate": (_is_net, _diverging_learning_rate),
    "batch_norm partial_fit on one sample": (_is_net, _batch_norm_one_sample),
    "pickle round trip": (None, _pickle_round_trip),
    "skops round trip": (None, _skops_round_trip),
    "Ctrl-C during fit": (_is_net, _sigint("fit")),
    "Ctrl-C in a partial_fit loop": (_is_net, _sigint("partial_fit")),
}
SLOW_CASES = ("Ctrl-C during fit", "Ctrl-C in a partial_fit loop")


def _sibling(module_name):
    """The module of a file next to this one, loaded by path (as the audit loads this file);
    None when the file is missing."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), module_name + ".py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location(f"_robustness_cells_{module_name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sibling_cases(module_name, factory, **helpers):
    """Cases defined in a file next to this one, given this module's helpers; none when the
    file is missing.
    """
    import types

    module = _sibling(module_name)
    if module is None:
        return {}
    return getattr(module, factory)(types.SimpleNamespace(**helpers))


# Numbers (overflow, tiny scales), the path display and scikit-learn's private API.
CASES.update(_sibling_cases(
    "_robustness_numbers", "number_cases", Outcome=Outcome, run=_run, fit=_fit,
    output=_output, problem_with_output=_problem_with_output, magnitude=_MAGNITUDE,
))


def cells(estimators, cases=None):
    """Yield ``(estimator name, case name)`` for every case that applies to each estimator."""
    for name, estimator in estimators:
        for case, (applies, _) in CASES.items():
            if (cases is None or case in cases) and (applies is None or applies(estimator)):
                yield name, case


def run_cell(estimator, case):
    """Run one case on a fresh clone of ``estimator``; return an :class:`Outcome`."""
    estimator = clone(estimator)
    X, y = make_data(estimator)
    try:
        return CASES[case][1](estimator, X, y)
    except Exception as exc:  # noqa: BLE001 - a step before the checked call failed
        return Outcome("unhelpful failure", f"{type(exc).__name__}: {str(exc)[:160]}")


# ==== Extension points, callbacks, persistence and threads (issue 21, points 1-3 and 5) ========
# Their cells live in _robustness_extensions.py (which uses the helpers above) and join CASES
# here, so that the matrix and the audit run them with every other case.
import importlib.util  # noqa: E402
import types  # noqa: E402


def _extension_cells():
    try:
        from skreg.utils import _robustness_extensions as cells
    except ImportError:  # auditing an older skreg with these cells: load them from this folder
        name = "_robustness_extension_cells"
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "_robustness_extensions.py"))
        cells = sys.modules[name] = importlib.util.module_from_spec(spec)  # pickles find it
        spec.loader.exec_module(cells)
    # The helpers above as a namespace: the Ctrl-C cells' child runs this file as a module
    # that is not in sys.modules.
    return cells.extension_cases(types.SimpleNamespace(**globals()))


CASES.update(_extension_cells())
# ==== end of the extension points' cells ========================================================
