"""scikit-learn's callbacks (``set_callbacks``) on the linear estimators.

The neural estimators' epochs as tasks are tested in tests/test_neural_extensions.py.
"""

import re
import threading
from collections import Counter

import numpy as np
import pytest
from callback_helpers import StopAfter
from numpy.testing import assert_allclose
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
    RegularizedNetClassifier,
    VectorQuantizer,
)

CASES = [
    (ElasticNetRegressor, "neg_mean_squared_error", {"alpha": [0.01, 0.1]}),
    (ElasticNetClassifier, "neg_log_loss", {"l1_ratio": [0.0, 0.5]}),
]


def _data(cls):
    if cls is ElasticNetRegressor:
        return make_regression(n_samples=60, n_features=5, noise=1.0, random_state=0)
    return make_classification(n_samples=60, n_features=5, random_state=0)


@pytest.mark.parametrize("cls, scoring, grid", CASES)
def test_one_task_per_fit_scored_like_the_fitted_estimator(cls, scoring, grid):
    X, y = _data(cls)
    monitor = ScoringMonitor(scoring=scoring)
    est = cls(l1_ratio=0.0).set_callbacks(monitor).fit(X, y)  # one solver call: one task
    (row,) = monitor.get_logs().data
    assert (row["estimator_name"], row["task_name"]) == (cls.__name__, "fit")
    assert row[scoring] == pytest.approx(get_scorer(scoring)(est, X, y))


@pytest.mark.parametrize("cls, scoring, grid", CASES)
def test_tasks_nest_under_pipeline_and_grid_search(cls, scoring, grid, capsys):
    X, y = _data(cls)
    monitor = ScoringMonitor(scoring=scoring)
    step = cls.__name__.lower()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), cls().set_callbacks(monitor)),
        {f"{step}__{name}": values for name, values in grid.items()}, cv=2,
    ).set_callbacks(ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    out = capsys.readouterr().out
    assert re.search(rf"Pipeline - fit-final-estimator \| {cls.__name__} - fit", out)
    assert "100%" in out and not re.search(r"\b[0-9]{1,2}%", out)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "fit"]
    assert len(rows) == 2 * 2 + 1  # 2 candidates x 2 folds + the refit
    (refit,) = [row for row in rows if row["task_id_path"][:2] == (0, 1)]
    assert refit[scoring] == pytest.approx(get_scorer(scoring)(search.best_estimator_, X, y))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_proximal_newton_iterations_are_tasks(n_classes):
    X, y = make_classification(n_samples=90, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=0)
    monitor = ScoringMonitor(scoring="neg_log_loss")
    clf = ElasticNetClassifier(alpha=0.01, l1_ratio=0.5).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    iterations = [row for row in rows if row["task_name"] == "newton-iteration"]
    assert len(iterations) == clf.n_iter_[0] > 1
    assert [row["task_id"] for row in iterations] == list(range(clf.n_iter_[0]))
    scores = [row["neg_log_loss"] for row in iterations]
    assert scores[-1] == pytest.approx(get_scorer("neg_log_loss")(clf, X, y))
    assert scores[0] < scores[-1]  # the loss falls over the iterations
    # a callback asking to stop ends the iterations there
    clf_stopped = ElasticNetClassifier(alpha=0.01, l1_ratio=0.5).set_callbacks(StopAfter(1))
    assert clf_stopped.fit(X, y).n_iter_[0] == 1


# ---- cross-validated linear estimators: the path ---------------------------------------------

@pytest.mark.parametrize("cls, scoring", [
    (ElasticNetRegressorCV, "r2"), (ElasticNetClassifierCV, "neg_log_loss"),
])
def test_cv_paths_report_each_alpha_scored_on_its_validation_fold(cls, scoring):
    X, y = _data(ElasticNetRegressor if cls is ElasticNetRegressorCV else ElasticNetClassifier)
    monitor = ScoringMonitor(scoring=scoring)
    cv = cls(alphas=4, l1_ratio=[0.5, 1.0], cv=3, scoring=scoring).set_callbacks(monitor)
    cv.fit(X, y)
    rows = monitor.get_logs().data
    alphas = [row for row in rows if row["task_name"] == "alpha"]
    assert len(alphas) == 2 * 3 * 4  # l1_ratios x folds x alphas
    # path k is (l1_ratio k // 3, fold k % 3); its alphas' scores are the cross-validation's
    scores = np.array([row[scoring] for row in alphas]).reshape(2, 3, 4).transpose(0, 2, 1)
    assert_allclose(scores, cv.cv_scores_, rtol=1e-10)
    (fit,) = [row for row in rows if row["task_name"] == "fit"]
    assert fit[scoring] == pytest.approx(get_scorer(scoring)(cv, X, y))


def test_cv_path_tasks_nest_under_a_pipeline(capsys):
    X, y = _data(ElasticNetRegressor)
    pipe = make_pipeline(StandardScaler(), ElasticNetRegressorCV(alphas=3, cv=2, n_jobs=2))
    pipe.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"ElasticNetRegressorCV - fit", out)
    assert len(re.findall(r"ElasticNetRegressorCV - path #\d", out)) == 2
    assert "100%" in out and not re.search(r"\b[0-9]{1,2}%", out)


# ---- VectorQuantizer: Lloyd iterations and mini-batch epochs ---------------------------------

class _TaskCounter:
    """Counts the ended tasks by name, and the iterations below each codebook."""

    def __init__(self):
        self.ends, self.per_codebook = Counter(), Counter()

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.ends[context.task_name] += 1
        if context.parent is not None and context.parent.task_name == "codebook":
            self.per_codebook[context.parent.task_id] += 1


@pytest.mark.parametrize("params, iteration", [
    ({}, "lloyd-iteration"), ({"n_subspaces": 2, "n_init": 2}, "lloyd-iteration"),
    ({"batch_size": 64}, "minibatch-epoch"),
])
def test_vector_quantizer_reports_its_iterations(params, iteration):
    X = np.random.default_rng(0).standard_normal((300, 4))
    counter = _TaskCounter()
    vq = VectorQuantizer(n_codes=8, random_state=0, **params).set_callbacks(counter).fit(X)
    n_codebooks = params.get("n_subspaces", 1) * params.get("n_init", 1)
    assert counter.ends["fit"] == 1 and counter.ends["codebook"] == n_codebooks
    assert sum(counter.per_codebook.values()) == counter.ends[iteration]
    if n_codebooks == 1:
        assert counter.ends[iteration] == vq.n_iter_
    assert 0 < max(counter.per_codebook.values()) <= vq.max_iter
    vq.partial_fit(X[:100])  # one task per chunk
    assert counter.ends["fit"] == 2


def test_vector_quantizer_under_a_pipeline_with_a_progress_bar(capsys):
    X = np.random.default_rng(0).standard_normal((200, 4))
    pipe = make_pipeline(StandardScaler(), VectorQuantizer(n_codes=4, random_state=0))
    pipe.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X)
    out = capsys.readouterr().out
    assert re.search(r"Pipeline - fit-final-estimator \| VectorQuantizer - fit", out)
    assert "VectorQuantizer - codebook #0" in out and "100%" in out


# ---- a failing fit still tears the callbacks down --------------------------------------------

def _progress_threads():
    from sklearn.callback._progressbar import RichProgressMonitor

    return [t for t in threading.enumerate() if isinstance(t, RichProgressMonitor)]


@pytest.mark.parametrize("make, fit", [
    (lambda: VectorQuantizer(n_codes=50), lambda est, X, y: est.fit(X)),
    (lambda: RegularizedNetClassifier(max_iter=2, module=dict),
     lambda est, X, y: est.fit(X, y > 0)),
    (lambda: ElasticNetRegressorCV(cv=2), lambda est, X, y: est.fit(X, y * np.nan)),
])
def test_a_failing_fit_tears_the_progress_bar_down(make, fit, capsys):
    X, y = _data(ElasticNetRegressor)
    est = make().set_callbacks(ProgressBar())
    with pytest.raises(ValueError):
        fit(est, X[:40], y[:40])
    assert not _progress_threads()  # no monitor thread left waiting for more tasks
    assert not hasattr(est, "_callback_fit_ctx")
