"""Ctrl-C held back for the few statements that put a model back together.

A fit that fails or is interrupted restores the previous model (or commits the last completed
epoch) by copying tensors and swapping an estimator's attributes. A second Ctrl-C landing in the
middle of that would leave half a model: ``__dict__`` cleared but not yet refilled, or some
tensors restored and others not. :func:`sigint_deferred` runs such a block with SIGINT recorded
instead of raised, and raises KeyboardInterrupt right after it, so the user still gets the
interrupt (within the block's few milliseconds) and keeps a whole model.
"""

import signal
import threading
from contextlib import contextmanager


@contextmanager
def sigint_deferred():
    """Run the block with Ctrl-C held back; raise KeyboardInterrupt after it if one came.

    Only Python's default handler is replaced (in the main thread, the only one that receives
    signals): a handler of the user's own, or a call from another thread, runs the block as is.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def replace_attributes(obj, attributes):
    """Make ``attributes`` (a dict) the whole ``__dict__`` of ``obj``, never half of it."""
    with sigint_deferred():
        obj.__dict__.clear()
        obj.__dict__.update(attributes)
