"""Cells of the bad-input matrix for the extension points: callbacks, custom modules,
persistence and threads (:mod:`skreg.utils._robustness` adds them to its ``CASES``).

- every estimator: a scikit-learn callback raising at the end of ``fit`` or in its teardown
  must leave the previous model;
- the nets: a skorch callback raising at the end of training or stopping in the first epoch,
  a custom module's mistakes (wrong width, a vector, a tuple, a constructor without the data
  sizes, NaN at predict), ``module__*`` in the constructor, a VQ layer inside a module,
  pickles of ``net_`` and skops files with a module instance, and predicting while another
  thread trains.
"""

import pickle
import threading
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from torch import nn

# The matrix's module (skreg.utils._robustness, or its copy loaded from a file by the Ctrl-C
# cells' child), whose helpers the cells use: set by extension_cases, which it calls, so that
# neither module imports the other.
base = None

_CALLBACK_ERROR = "callback raised on purpose"


class RaisingCallback:
    """A scikit-learn callback raising ValueError at the end of the fit's task or in teardown."""

    def __init__(self, where):
        self.where = where

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        if self.where == "teardown":
            raise ValueError(_CALLBACK_ERROR)

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if self.where == "fit-end" and context.parent is None:
            raise ValueError(_CALLBACK_ERROR)


def _other_data(X, y):
    return X[::-1][:40], None if y is None else y[::-1][:40]


def _sklearn_callback_raising(where):
    def run(estimator, X, y):
        X_other, y_other = _other_data(X, y)
        return base._failed_call_keeps_model(
            estimator, X, y,
            lambda est: base._fit(est.set_callbacks(RaisingCallback(where)), X_other, y_other),
            _CALLBACK_ERROR,
        )

    return run


def _has_callbacks(estimator):
    return hasattr(estimator, "set_callbacks")


# ---- skorch callbacks on the nets ------------------------------------------------------------

def _skorch_callback(hook, error):
    from skorch.callbacks import Callback

    class _Raise(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if hook == "on_batch_end" and training:
                raise error(_CALLBACK_ERROR)

        def on_train_end(self, net, **kwargs):
            if hook == "on_train_end":
                raise error(_CALLBACK_ERROR)

    return _Raise()


def _skorch_callback_raising_at_train_end(estimator, X, y):
    X_other, y_other = _other_data(X, y)
    return base._failed_call_keeps_model(
        estimator, X, y,
        lambda est: base._fit(est.set_params(callbacks=[_skorch_callback("on_train_end",
                                                                         ValueError)]),
                              X_other, y_other),
        _CALLBACK_ERROR,
    )


def _skorch_callback_stopping_in_the_first_batch(estimator, X, y):
    estimator.set_params(callbacks=[_skorch_callback("on_batch_end", KeyboardInterrupt)])
    return base._run(lambda: base._fit(estimator, X, y),
                     r"callback stopped training.*before any epoch")


# ---- custom modules ----------------------------------------------------------------------------

class ReturnsWrongly(nn.Module):
    """A user's module returning ``kind``: too wide, one column, a vector, a tuple, or right."""

    def __init__(self, n_features, n_outputs, kind="right"):
        super().__init__()
        self.n_features, self.n_outputs, self.kind = n_features, n_outputs, kind
        width = {"too wide": n_outputs + 1, "one column": 1}.get(kind, n_outputs)
        self.layer = nn.Linear(n_features, width)

    def forward(self, X):
        out = self.layer(X)
        if self.kind == "vector":
            return out[:, 0]
        if self.kind == "tuple":
            return out, X
        return out


class FixedSize(nn.Module):
    """A module whose constructor does not take the data's sizes."""

    def __init__(self, width=3):
        super().__init__()
        self.width = width
        self.layer = nn.Linear(4, 2)

    def forward(self, X):
        return self.layer(X)


class NaNWhenPredicting(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.n_features, self.n_outputs = n_features, n_outputs
        self.layer = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        out = self.layer(X)
        return out if self.training else out * torch.log(X[:, :1] - 1e3)


class WithVQLayer(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        from skreg.nn import VQLayer

        self.n_features, self.n_outputs = n_features, n_outputs
        self.encode = nn.Linear(n_features, 2)
        generator = torch.Generator().manual_seed(0)
        self.vq = VQLayer(4, 2, init=torch.randn(4, 2, generator=generator))
        self.decode = nn.Linear(2, n_outputs)

    def forward(self, X):
        return self.decode(self.vq(self.encode(X))[0])


class WaitsInPrediction(nn.Module):
    """Dropout after a layer; a prediction in the calling thread waits (up to 0.2 s) for the
    module to be switched to training mode, as another thread's training step does."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.n_features, self.n_outputs = n_features, n_outputs
        self.layer = nn.Linear(n_features, 16)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(16, n_outputs)

    def forward(self, X):
        hidden = self.layer(X)
        if not self.training and getattr(threading.current_thread(), "_skreg_predicting", 0):
            deadline = time.monotonic() + 0.2
            while not self.dropout.training and time.monotonic() < deadline:
                time.sleep(0.001)
        return self.out(self.dropout(hidden))


def _module_returning(kind):
    def run(estimator, X, y):
        estimator.set_params(module=ReturnsWrongly, module__kind=kind)
        return base._run(lambda: base._fit(estimator, X, y),
                         r"module ReturnsWrongly returned .*(shape|tuple).*needs",
                         check=lambda fitted: f"trained on a module output {kind}")

    return run


def _module_without_data_sizes(estimator, X, y):
    estimator.set_params(module=FixedSize)
    return base._run(lambda: base._fit(estimator, X, y),
                     r"FixedSize.__init__ does not accept n_features.*instance")


def _module_params_in_the_constructor(estimator, X, y):
    params = {**estimator.get_params(deep=False), "module": ReturnsWrongly,
              "module__kind": "right"}
    built = type(estimator)(**params)
    twin = clone(built)
    if twin.get_params().get("module__kind") != "right":
        return base.Outcome("silently wrong", "clone lost module__kind")
    return base._run(lambda: base._fit(twin, X, y), None,
                     check=lambda fitted: None if fitted.net_.module_.kind == "right"
                     else "module built without module__kind")


def _nan_at_predict(estimator, X, y):
    estimator.set_params(module=NaNWhenPredicting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base._fit(estimator, X, y)
    return base._run(lambda: base._output(estimator, X), r"module NaNWhenPredicting returned NaN")


def _vq_layer_in_a_module(estimator, X, y):
    estimator.set_params(module=WithVQLayer)
    initial = WithVQLayer(X.shape[1], 1).vq.codebook.detach().clone()

    def check(fitted):
        if "vq_perplexity" not in fitted.history_[-1]:
            return "the VQ layer's perplexity is not recorded"
        if torch.allclose(fitted.net_.module_.vq.codebook.detach(), initial):
            return "the codebook did not move: its loss is not in the training objective"
        return None

    return base._run(lambda: base._fit(estimator, X, y), None, check=check)


# ---- persistence and threads -------------------------------------------------------------------

def _pickled_net_loads_weights_only(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base._fit(estimator, X, y)
    calls, load = [], torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return load(*args, **kwargs)

    torch.load = spy
    try:
        net = pickle.loads(pickle.dumps(estimator.net_))
    finally:
        torch.load = load
    unsafe = sum(weights_only is not True for weights_only in calls)
    if unsafe:
        return base.Outcome("silently wrong", f"{unsafe} torch.load(weights_only=False) calls")
    expected = estimator.net_.predict(X.astype(np.float32))
    if not np.allclose(net.predict(X.astype(np.float32)), expected):
        return base.Outcome("silently wrong", "the unpickled net predicts differently")
    return base.Outcome("correct")


def _skops_with_a_module_instance(estimator, X, y):
    import skops.io as sio

    torch.manual_seed(0)
    estimator.set_params(module=ReturnsWrongly(X.shape[1], 2 if is_classifier(estimator) else 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base._fit(estimator, X, y)
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    expected = {f"{type(estimator).__module__}.{type(estimator).__name__}",
                f"{ReturnsWrongly.__module__}.ReturnsWrongly"}
    if set(untrusted) - expected:
        return base.Outcome("unhelpful failure",
                            f"skops asks to trust {sorted(set(untrusted) - expected)}"[:160])
    loaded = sio.loads(data, trusted=untrusted)
    if not np.allclose(base._output(loaded, X), base._output(estimator, X)):
        return base.Outcome("silently wrong", "predictions changed by the round trip")
    return base.Outcome("correct")


def _predict_while_training(estimator, X, y):
    # A step of 1e-30 leaves float32 weights as they are: only the dropout mode can change
    # the predictions while the other thread trains.
    estimator.set_params(module=WaitsInPrediction, optimizer="sgd", momentum=0.0,
                         learning_rate_init=1e-30, batch_size=8, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base._fit(estimator, X, y)
        expected = base._output(estimator, X)
    done, errors = threading.Event(), []
    kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}

    def train():
        try:
            while not done.is_set():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    estimator.partial_fit(X, y, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported as the cell's outcome
            errors.append(exc)

    trainer = threading.Thread(target=train)
    trainer.start()
    me = threading.current_thread()
    try:
        time.sleep(0.05)
        me._skreg_predicting = 1
        output = base._output(estimator, X)
    finally:
        me._skreg_predicting = 0
        done.set()
        trainer.join()
    if errors:
        return base.Outcome("unhelpful failure", repr(errors[0])[:160])
    if not np.array_equal(output, expected):
        return base.Outcome("silently wrong", "a prediction ran with dropout on")
    return base.Outcome("correct")


def extension_cases(robustness):
    """The cells of this module, keyed by case name, using the helpers of ``robustness``
    (the matrix module's namespace)."""
    global base
    base = robustness
    return _cases()


def _cases():
    return {
        "sklearn callback raising at the end of fit keeps the model":
            (_has_callbacks, _sklearn_callback_raising("fit-end")),
        "sklearn callback raising in teardown keeps the model":
            (_has_callbacks, _sklearn_callback_raising("teardown")),
        "skorch callback raising at the end of training keeps the model":
            (base._is_net, _skorch_callback_raising_at_train_end),
        "skorch callback stopping in the first batch": (
            base._is_net, _skorch_callback_stopping_in_the_first_batch),
        "module output too wide": (base._is_net, _module_returning("too wide")),
        "module output a vector": (base._is_net, _module_returning("vector")),
        "module output one column for two classes": (
            lambda est: base._is_net(est) and is_classifier(est), _module_returning("one column")),
        "module output a tuple": (base._is_net, _module_returning("tuple")),
        "module without n_features / n_outputs": (base._is_net, _module_without_data_sizes),
        "module__* in the constructor": (base._is_net, _module_params_in_the_constructor),
        "module NaN at predict": (base._is_net, _nan_at_predict),
        "VQLayer inside a module": (base._is_net, _vq_layer_in_a_module),
        "pickled net_ loads weights only": (base._is_net, _pickled_net_loads_weights_only),
        "skops with a module instance": (base._is_net, _skops_with_a_module_instance),
        "predict while another thread trains": (base._is_net, _predict_while_training),
    }
