"""Fitted attributes read as GridSearchCV "scorers": epochs run, epoch restored, loss trend."""

import numpy as np


class FittedAttribute:
    """A "scorer" that reads a fitted attribute (``n_iter_``, ``best_epoch_``) of one step.

    GridSearchCV averages every scorer over the folds, so this records the epochs a net ran
    in each fit without refitting; a missing value is -1 (a NaN would make GridSearchCV warn
    about non-finite scores) and becomes NaN in ``results_``.
    """

    def __init__(self, step, attribute):
        self.step = step
        self.attribute = attribute

    def _part(self, estimator):
        part = estimator
        for name in self.step.split("__") if self.step else []:
            if hasattr(part, name + "_"):  # a meta-estimator's fitted clone (regressor_)
                part = getattr(part, name + "_")
            elif hasattr(part, "named_steps") and name in part.named_steps:
                part = part.named_steps[name]
            else:
                part = part.get_params(deep=False)[name]
        return part

    def __call__(self, estimator, X, y=None):
        value = getattr(self._part(estimator), self.attribute, None)
        return -1.0 if value is None else float(np.mean(value))


class LossTrend(FittedAttribute):
    """The share of a net's training-loss decrease made in its last tenth of epochs (-1: unknown).

    A baseline that still makes more than :data:`STILL_FALLING` of its progress when
    ``max_iter`` stops it is under-trained, and a regularizer that merely speeds training up
    would look like a gain. A share rather than a relative drop: on separable classes the
    loss keeps shrinking towards zero long after the predictions have settled.
    """

    def __init__(self, step):
        super().__init__(step, "loss_curve_")

    def __call__(self, estimator, X, y=None):
        curve = getattr(self._part(estimator), "loss_curve_", None)
        if curve is None or len(curve) < 2 or not np.all(np.isfinite(curve)):
            return -1.0
        tail = max(1, len(curve) // 10)
        before = float(np.mean(curve[-2 * tail:-tail]))
        last = float(np.mean(curve[-tail:]))
        total = float(curve[0]) - last
        return 0.0 if total <= 0 else float(np.clip((before - last) / total, 0.0, 1.0))


STILL_FALLING = 0.05


def fitted_scorers(step):
    """Epochs run, epoch restored and loss trend of the fitted ``step``, as scorers."""
    return {"n_iter": FittedAttribute(step, "n_iter_"),
            "best_epoch": FittedAttribute(step, "best_epoch_"),
            "loss_trend": LossTrend(step)}

