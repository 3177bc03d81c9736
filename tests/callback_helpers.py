"""A scikit-learn callback shared by the tests of callback support (not a test module)."""


class StopAfter:
    """A scikit-learn callback asking to stop after a number of tasks."""

    def __init__(self, n_tasks):
        self.n_tasks = n_tasks
        self.seen = 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.seen += 1
        return self.seen >= self.n_tasks
