"""scikit-learn's callbacks (``sklearn.callback``, ``set_callbacks``) for skreg's estimators.

scikit-learn sees a fit as a tree of tasks: the estimator's ``fit`` is the root, its iterations
(epochs, Lloyd iterations, the alphas of a path) are subtasks, and a meta-estimator (Pipeline,
GridSearchCV) grafts its sub-estimators' trees onto its own leaves. ``ProgressBar`` draws that
tree; ``ScoringMonitor`` scores the ``fitted_estimator`` handed to each task's end. An estimator
takes part by inheriting :class:`~sklearn.callback.CallbackSupportMixin` (left of
``BaseEstimator``), keeping ``fit`` under ``_fit_context`` (which tears the callbacks down on
every exit path), and reporting its tasks with :class:`FitTask`::

    task = FitTask(self, X, y, sample_weight, max_subtasks=self.max_iter)
    for i in range(self.max_iter):
        step = task.subtask("iteration")
        ...                                   # one iteration
        if step.end(lambda: {"coef_": coef}):  # the attributes a copy needs to predict
            break                             # a callback asked to stop
    ...                                       # set the fitted attributes
    task.end()

Begin the ``FitTask`` on the estimator the user holds, before any transactional machinery
swaps or restores its ``__dict__`` (a scratch copy, a rollback): the task's context lives in
that ``__dict__`` until ``_fit_context`` tears the callbacks down, on every exit path (a
``ProgressBar`` left without its teardown keeps a thread waiting).

An estimator whose solver is one opaque call (a compiled coordinate descent, a closed form)
reports a single task: ``FitTask(self, X, y, sample_weight)`` ... ``task.end()``. When
``estimator`` has no callbacks, every call here is a few attribute look-ups.
"""

from sklearn.callback import CallbackSupportMixin

from skreg.utils._interrupts import replace_attributes

__all__ = ["CallbackSupportMixin", "FitTask"]


_INHERIT = object()


class _Task:
    """One task of a fit's tree: begun with :meth:`begin`, ended with :meth:`end`."""

    def __init__(self, estimator, context, X, y, metadata):
        self.estimator, self.context = estimator, context
        self.X, self.y, self.metadata = X, y, metadata

    @property
    def active(self):
        """Whether any callback is set: without, callers may skip reporting subtasks."""
        return bool(getattr(self.estimator, "_skl_callbacks", None))

    def subtask(self, name, *, max_subtasks=0, X=_INHERIT, y=_INHERIT,
                sample_weight=_INHERIT, begin=True):
        """The next subtask (a leaf unless ``max_subtasks``), begun unless ``begin=False``.

        It reports this task's data unless given its own (``X``, ``y``, ``sample_weight``:
        e.g. a cross-validation fold). Create the subtasks of work run by parallel threads
        up front, in one thread (``begin=False``), and begin them where they run.
        """
        metadata = self.metadata if sample_weight is _INHERIT else (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        task = _Task(
            self.estimator,
            self.context.subcontext(task_name=name, max_subtasks=max_subtasks),
            self.X if X is _INHERIT else X, self.y if y is _INHERIT else y, metadata,
        )
        return task.begin() if begin else task

    def begin(self):
        self.context.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata
        )
        return self

    def end(self, fitted_attributes=None):
        """End this task; True if a callback asks to stop iterating.

        ``fitted_attributes``: a callable returning the attributes that make a copy of the
        estimator predict as the fit stands now; called only if a callback needs it.
        """
        return self.context.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=fitted_attributes,
        )


class FitTask(_Task):
    """The root task of one ``fit`` (``estimator._init_callback_context``), begun at creation.

    The fit's callbacks run inside its transaction: :meth:`end` runs the last hooks (the
    root task's end, then every callback's ``teardown``) and, if one of them raises, puts
    back the attributes the estimator held when the task began (its previous model) before
    the error reaches the caller. So create the task before the fit changes the estimator.

    Parameters
    ----------
    estimator : estimator with CallbackSupportMixin
        The estimator being fitted; its hooks receive it.
    X, y : the training data as passed to ``fit`` (callbacks score with them).
    sample_weight : array-like or None
        Passed to the hooks as ``metadata={"sample_weight": ...}``.
    max_subtasks : int or None, default=0
        Most subtasks (iterations) this fit may run; 0 for a single task, None if unknown.
    """

    def __init__(self, estimator, X, y, sample_weight=None, *, max_subtasks=0):
        super().__init__(
            estimator, estimator._init_callback_context(max_subtasks=max_subtasks), X, y,
            None if sample_weight is None else {"sample_weight": sample_weight},
        )
        self.begin()
        # The previous model (fits assign fresh objects, so a shallow copy is all of it),
        # with the callback context that _fit_context tears down if the fit fails.
        self._previous = dict(estimator.__dict__)

    def end(self):
        """End the fit's task and tear its callbacks down; call it once the fit is assigned.

        scikit-learn tears the callbacks down once ``fit`` has returned, when the new model
        is already in place; here it happens before, so that a raising hook (``on_fit_task_end``
        or ``teardown``, KeyboardInterrupt included) leaves the estimator as it was.
        """
        estimator = self.estimator
        try:
            super().end(fitted_attributes={})
        except BaseException:
            replace_attributes(estimator, self._previous)  # _fit_context tears down
            raise
        errors = []
        try:
            for callback in estimator.__dict__.get("_skl_callbacks_to_teardown", ()):
                try:
                    callback.teardown(estimator=estimator, context=self.context)
                except Exception as exc:  # as scikit-learn: every callback is torn down
                    errors.append(exc)
        except BaseException:
            self._roll_back_torn_down()
            raise
        self._drop_context(estimator.__dict__)
        if errors:
            self._roll_back_torn_down()
            raise errors[0]  # the first; every callback was torn down all the same

    def _roll_back_torn_down(self):
        # The previous model, without the context: _fit_context must not tear down again.
        previous = dict(self._previous)
        self._drop_context(previous)
        replace_attributes(self.estimator, previous)

    @staticmethod
    def _drop_context(attributes):
        for name in ("_callback_fit_ctx", "_skl_callbacks_to_teardown"):
            attributes.pop(name, None)
