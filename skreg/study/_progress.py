"""One progress bar and one warning log for a whole study, fed by the fits in the workers.

GridSearchCV runs its fits in joblib workers (loky processes, threads, or a Dask cluster), where
a progress bar or a ``warnings.catch_warnings`` of the calling process sees nothing. Each
search gets :class:`FitReporter`, a scikit-learn callback (:mod:`sklearn.callback`, the
protocol GridSearchCV calls around each candidate × split fit, in the worker running it): it
records the warnings raised during the fit and, when the fit ends, sends them back with a
"one more fit done" to the calling process. :class:`StudyProgress` receives these messages,
advances one ``tqdm.auto`` bar (a widget in Jupyter, a line in a terminal) and keeps the
warnings.

The messages travel over a :mod:`multiprocessing.connection` listener of the calling
process (a local socket), as scikit-learn's own ProgressBar callback does: a process of the
same machine (joblib's workers, a local Dask cluster) reaches it. A worker that cannot (a
Dask worker on another host) gives up quietly after one try; the bar then catches up when
each search returns and that worker's warnings stay in its own log.
"""

import os
import threading
import warnings
from collections import Counter, namedtuple
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener

# The calling process's listeners, by address: a send from this process (n_jobs=1, the
# threading backend) hands the message over directly instead of through the socket.
_consumers = {}
# Worker side: one connection back per process, reused by every fit it runs; a lock because
# threads of one worker (Dask's, joblib's threading backend) share it.
_connection = {"address": None, "client": None, "unreachable": set()}
_connection_lock = threading.Lock()

FitWarning = namedtuple("FitWarning", ["category", "message", "filename", "lineno"])
FitWarning.__doc__ = """A warning raised by one of a study's fits: its category's name, its text
and where it was raised."""


def _send(address, authkey, message):
    """Deliver ``message`` to the listener at ``address``; False if it cannot be reached."""
    consumer = _consumers.get(address)
    if consumer is not None:
        consumer(message)
        return True
    with _connection_lock:
        if address in _connection["unreachable"]:
            return False
        try:
            if _connection["address"] != address:
                if _connection["client"] is not None:  # a finished study's listener
                    _connection["client"].close()
                    _connection["client"] = None
                _connection["client"] = Client(address, authkey=authkey)
                _connection["address"] = address
            _connection["client"].send(message)
            # Wait for the acknowledgement: when the search returns, every fit it ran has
            # been counted.
            _connection["client"].recv()
            return True
        except (OSError, EOFError):
            _connection["unreachable"].add(address)
            _connection["client"], _connection["address"] = None, None
            return False


# Warnings are recorded process-wide from the first running fit of a process to the last
# one (threads of a Dask worker run several at once, and catch_warnings is process-wide:
# nested per-fit windows from several threads would restore each other's state). The
# filters are the process's own, so a warning shown "once per location" is recorded once per
# fit, or once for fits that overlap in threads.
_recording = {"depth": 0, "manager": None, "log": None}
_recording_lock = threading.Lock()


def _start_recording():
    with _recording_lock:
        if _recording["depth"] == 0:
            manager = warnings.catch_warnings(record=True)
            _recording["log"] = manager.__enter__()
            _recording["manager"] = manager
        _recording["depth"] += 1


def _stop_recording():
    """The warnings recorded since the last call (``warnings.WarningMessage``)."""
    with _recording_lock:
        if _recording["depth"] == 0:
            return []
        log = _recording["log"]
        caught = list(log)
        del log[:]
        _recording["depth"] -= 1
        if _recording["depth"] == 0:
            _recording["manager"].__exit__(None, None, None)
            _recording["manager"] = _recording["log"] = None
    return caught


class FitWarningsSummary(UserWarning):
    """The one warning of :func:`compare_regularizers` that sums up its fits' warnings."""


def as_fit_warning(record):
    """A ``warnings.WarningMessage`` as a picklable :class:`FitWarning`."""
    return FitWarning(record.category.__name__, str(record.message), str(record.filename),
                      int(record.lineno))


class FitReporter:
    """scikit-learn callback of one study's searches: report each finished fit and its warnings.

    Set on a GridSearchCV with ``set_callbacks``; it is pickled to the workers with the fits,
    so it holds only the listener's address and key. Not auto-propagated: the estimators
    being fitted do not see it.
    """

    # GridSearchCV's task of one candidate on one split (scikit-learn 1.9's name; the tests
    # see every fit reported, and a renamed task would fail them)
    _TASK = "candidate-split-evaluation"

    def __init__(self, address, authkey):
        self.address = address
        self.authkey = authkey

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == self._TASK:
            _start_recording()

    def on_fit_task_end(self, estimator, context):
        if context.task_name == self._TASK:
            caught = _stop_recording()
            message = ("fit", [as_fit_warning(record) for record in caught])
            if not _send(self.address, self.authkey, message):
                for record in caught:  # into this worker's own log rather than nowhere
                    warnings.showwarning(record.message, record.category, record.filename,
                                         record.lineno)
        return False  # never stop the search


def _tqdm_bar(total):
    # Imported here, not with skreg: tqdm.auto warns (TqdmWarning) in a Jupyter kernel
    # without ipywidgets as soon as it is imported.
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compare_regularizers", unit="fit", leave=True)


class StudyProgress:
    """Context manager of one study: the listener, the bar and the warnings of every search.

    Parameters
    ----------
    total : int
        Fits planned (candidates × folds over all the searches); :meth:`skip` lowers it.
    verbose : int
        0: no bar; 1 or more: one ``tqdm.auto`` bar.

    Attributes
    ----------
    n_done : int
        Fits finished so far.
    warnings : list of FitWarning
        Warnings raised by the fits (in workers too) and by the searches themselves.
    """

    def __init__(self, total, *, verbose=0):
        self.total = int(total)
        self.verbose = verbose
        self.n_done = 0
        self.warnings = []
        self._lock = threading.Lock()
        self._bar = None
        self._listener = None
        self._closed = False

    def __enter__(self):
        authkey = os.urandom(32)
        # backlog: every worker connects once, possibly at the same moment.
        self._listener = Listener(authkey=authkey, backlog=128)
        self._authkey = authkey
        _consumers[self._listener.address] = self._consume
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        if self.verbose:
            self._bar = _tqdm_bar(self.total)
        return self

    def __exit__(self, *exc_info):
        # Also on errors and KeyboardInterrupt: the bar is closed, the socket removed.
        address = self._listener.address
        _consumers.pop(address, None)
        self._closed = True
        try:  # wake the accept thread (closing a socket does not interrupt accept on Linux)
            Client(address, authkey=self._authkey).close()
        except OSError:
            pass
        self._listener.close()
        if self._bar is not None:
            self._bar.close()
        return False

    def _accept(self, listener):
        while not self._closed:
            try:
                connection = listener.accept()
            except (OSError, EOFError, AuthenticationError):  # a failed handshake
                continue
            if self._closed:
                connection.close()
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        # One thread per worker process. A worker keeps its connection for the next study
        # (loky reuses its workers): this thread ends when the worker connects to another
        # study's listener, or exits.
        with connection:
            try:
                while True:
                    self._consume(connection.recv())
                    connection.send(None)
            except (OSError, EOFError):
                return

    def _consume(self, message):
        kind, records = message
        with self._lock:
            self.warnings.extend(records)
            if kind == "fit":
                self.n_done += 1
                if self._bar is not None:
                    self._bar.update(1)

    @property
    def reporter(self):
        """The :class:`FitReporter` to set on each search."""
        return FitReporter(self._listener.address, self._authkey)

    def fit(self, search, X, y=None):
        """``search.fit(X, y)`` with the reporter set; its own warnings are kept too."""
        before = self.n_done
        search.set_callbacks(self.reporter)
        with warnings.catch_warnings(record=True) as caught:
            search.fit(X, y)
        self._consume(("search", [as_fit_warning(record) for record in caught]))
        ran = len(search.cv_results_["params"]) * search.n_splits_
        with self._lock:  # fits whose report could not come back (a remote worker)
            missing = before + ran - self.n_done
            if missing > 0:
                self.n_done += missing
                if self._bar is not None:
                    self._bar.update(missing)
        return search

    def skip(self, n_fits):
        """Lower the total by ``n_fits`` planned fits that will not run."""
        with self._lock:
            self.total -= n_fits
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()


def summarize(fit_warnings, limit=3):
    """``12 warnings: 12 ConvergenceWarning ("...")``: the warnings in one line."""
    if not fit_warnings:
        return ""
    counts = Counter(record.category for record in fit_warnings)
    first = {}
    for record in fit_warnings:
        first.setdefault(record.category, record.message.splitlines()[0][:80])
    parts = [f'{count} {category} ("{first[category]}")'
             for category, count in counts.most_common(limit)]
    if len(counts) > limit:
        parts.append(f"{len(counts) - limit} more kinds")
    noun = "warning" if len(fit_warnings) == 1 else "warnings"
    return f"{len(fit_warnings)} {noun}: " + ", ".join(parts)


def quiet_params(parts):
    """``{prefix + "verbose": 0}`` for every studied step with a ``verbose`` parameter.

    Inside a study the study's own bar is the only one: a net's per-fit epoch bar, from
    every worker at once, would interleave with it.
    """
    return {prefix + "verbose": 0 for prefix, part in parts
            if "verbose" in part.get_params(deep=False)}
