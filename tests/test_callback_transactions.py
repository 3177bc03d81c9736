"""A raising callback, wherever it raises, leaves every estimator as it was.

scikit-learn's callbacks (``set_callbacks``) on all seven estimators, skorch's (``callbacks=``)
on the nets, and skorch's way of stopping early (a callback raising KeyboardInterrupt) in the
middle of an epoch.
"""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from skorch.callbacks import Callback

from skreg import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    VectorQuantizer,
)


class Boom(RuntimeError):
    pass


class RaiseAt:
    """A scikit-learn callback raising ``error`` at the end of the root task, or in teardown."""

    def __init__(self, where, error=Boom):
        self.where, self.error = where, error

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        if self.where == "teardown":
            raise self.error("teardown")

    def on_fit_task_begin(self, estimator, context):
        if self.where == "fit-begin" and context.parent is None:
            raise self.error("beginning of fit")

    def on_fit_task_end(self, estimator, context):
        if self.where == "fit-end" and context.parent is None:
            raise self.error("end of fit")
        if self.where == "subtask-end" and context.parent is not None:
            raise self.error("end of an iteration")


def _data():
    X, y = make_classification(n_samples=80, n_features=5, n_informative=3, random_state=0)
    return X, y


def _net(cls, **params):
    defaults = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)
    return cls(**{**defaults, **params})


ESTIMATORS = {
    "ElasticNetRegressor": (lambda: ElasticNetRegressor(alpha=0.01), "predict"),
    "ElasticNetClassifier": (lambda: ElasticNetClassifier(alpha=0.01), "predict_proba"),
    "ElasticNetRegressorCV": (lambda: ElasticNetRegressorCV(alphas=3, cv=2), "predict"),
    "ElasticNetClassifierCV": (lambda: ElasticNetClassifierCV(alphas=3, cv=2), "predict_proba"),
    "VectorQuantizer": (lambda: VectorQuantizer(n_codes=4, random_state=0), "transform"),
    "RegularizedNetClassifier": (lambda: _net(RegularizedNetClassifier), "predict_proba"),
    "RegularizedNetRegressor": (lambda: _net(RegularizedNetRegressor), "predict"),
}


def _fit(est, X, y, method="fit"):
    if isinstance(est, VectorQuantizer):
        return getattr(est, method)(X)
    if method == "partial_fit" and isinstance(est, RegularizedNetClassifier):
        return est.partial_fit(X, y, classes=np.unique(y))
    return getattr(est, method)(X, y)


def _snapshot(est):
    return {key: value for key, value in vars(est).items()}


@pytest.mark.parametrize("where", ["fit-end", "teardown"])
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_callback_raising_at_the_end_of_fit_leaves_the_previous_model(name, error, where):
    make, method = ESTIMATORS[name]
    X, y = _data()
    est = _fit(make(), X, y)
    before, expected = _snapshot(est), getattr(est, method)(X)
    est.set_callbacks(RaiseAt(where, error))
    with pytest.raises(error):
        _fit(est, X[::-1][:60], y[::-1][:60])  # other data: another model
    assert _snapshot(est).keys() - {"_skl_callbacks"} == before.keys()
    assert all(vars(est)[key] is value for key, value in before.items())
    assert_array_equal(getattr(est, method)(X), expected)
    assert not hasattr(est, "_callback_fit_ctx")  # torn down once, nothing left behind
    est.set_callbacks()
    _fit(est, X[:60], y[:60])  # and it fits again


@pytest.mark.parametrize("where", ["fit-begin", "subtask-end"])
@pytest.mark.parametrize("name", [name for name in ESTIMATORS if name != "ElasticNetRegressor"])
def test_a_callback_raising_during_fit_leaves_the_previous_model(name, where):
    # (ElasticNetRegressor's fit is one task: no iteration to raise in.)
    make, method = ESTIMATORS[name]
    X, y = _data()
    est = _fit(make(), X, y)
    before, expected = _snapshot(est), getattr(est, method)(X)
    est.set_callbacks(RaiseAt(where))
    with pytest.raises(Boom):
        _fit(est, X[::-1][:60], y[::-1][:60])
    assert all(vars(est)[key] is value for key, value in before.items())
    assert_array_equal(getattr(est, method)(X), expected)
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize("name", ["RegularizedNetClassifier", "RegularizedNetRegressor",
                                  "VectorQuantizer"])
def test_partial_fit_with_a_callback_raising_at_its_end_leaves_the_previous_model(name):
    make, method = ESTIMATORS[name]
    X, y = _data()
    est = _fit(make(), X, y, "partial_fit")
    expected = getattr(est, method)(X)
    n_iter = getattr(est, "n_iter_", None)
    est.set_callbacks(RaiseAt("fit-end"))
    with pytest.raises(Boom):
        _fit(est, X, y, "partial_fit")  # the nets train the fitted network in place
    assert_array_equal(getattr(est, method)(X), expected)
    assert getattr(est, "n_iter_", None) == n_iter


# ---- skorch callbacks on the nets -----------------------------------------------------------

class SkorchRaise(Callback):
    """Raises ``error`` from ``hook`` in the ``epoch``-th epoch of this training call (and its
    ``batch``-th training batch, for ``on_batch_end``)."""

    def __init__(self, hook="on_train_end", epoch=1, batch=1, error=Boom):
        self.hook, self.epoch, self.batch, self.error = hook, epoch, batch, error

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = 0

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_ += 1
        self.batches_ = 0

    def on_train_end(self, net, **kwargs):
        if self.hook == "on_train_end":
            raise self.error

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.epochs_ == self.epoch:
            self.batches_ += 1
            if self.hook == "on_batch_end" and self.batches_ == self.batch:
                raise self.error


@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_skorch_callback_raising_at_the_end_of_training_leaves_the_previous_model(cls, method):
    X, y = _data()
    est = _fit(_net(cls), X, y)
    expected = est.predict(X)
    history = [dict(row) for row in est.history_]
    est.set_params(callbacks=[SkorchRaise("on_train_end")])
    with pytest.raises(Boom):
        _fit(est, X, y, method)
    assert_array_equal(est.predict(X), expected)
    assert [dict(row) for row in est.history_] == history


@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_stopping_in_the_first_epoch_is_a_clear_error_not_a_key_error(cls):
    X, y = _data()
    stop = SkorchRaise("on_batch_end", epoch=1, batch=1, error=KeyboardInterrupt)
    est = _net(cls, batch_size=20, callbacks=[stop])
    with pytest.raises(ValueError, match="stopped training .* during epoch 1 .*no trained"):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    fitted = _fit(_net(cls, batch_size=20), X, y)
    expected = fitted.predict(X)
    fitted.set_params(callbacks=[stop])
    with pytest.raises(ValueError, match="before any epoch of it completed"):
        _fit(fitted, X, y, "partial_fit")  # the previous model stays, in place too
    assert_array_equal(fitted.predict(X), expected)


@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_stopping_in_the_middle_of_an_epoch_keeps_the_last_completed_one(cls):
    X, y = _data()
    full = _fit(_net(cls, batch_size=20, max_iter=2), X, y)  # the same seed: same epochs
    stop = SkorchRaise("on_batch_end", epoch=3, batch=2, error=KeyboardInterrupt)
    est = _fit(_net(cls, batch_size=20, max_iter=5, callbacks=[stop]), X, y)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert est.loss_curve_ == full.loss_curve_
    assert_array_equal(est.predict(X), full.predict(X))  # the weights of epoch 2
    with torch.no_grad():
        for ours, theirs in zip(est.net_.module_.parameters(), full.net_.module_.parameters(),
                                strict=True):
            assert torch.equal(ours, theirs)
