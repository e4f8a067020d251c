"""Tears live clusters down when this process ends: atexit, SIGTERM, SIGHUP and SIGINT.

Only objects registered by this very process are closed (a forked child that exits does not
tear down its parent's clusters). Signal handlers are installed only where the signal still
has its default disposition, so a test framework's own handlers are left alone. A SIGKILL
cannot be caught: the per-run reaper (runs.start_reaper) covers that.
"""

import atexit
import os
import signal
import sys
import threading

_live = {}  # object -> pid of the process that registered it
_lock = threading.Lock()
_installed = False


def register(obj):
    """obj.close() will run at exit or on a terminating signal of this process."""
    with _lock:
        _live[obj] = os.getpid()
    _install()


def unregister(obj):
    with _lock:
        _live.pop(obj, None)


def close_all():
    with _lock:
        mine = [o for o, pid in _live.items() if pid == os.getpid()]
    for obj in mine:
        try:
            obj.close()
        except Exception as exc:  # noqa: BLE001 - best effort at exit: report and go on
            print(f"netcluster: teardown of {getattr(obj, 'run_id', obj)} failed: {exc}",
                  file=sys.stderr)


def _on_signal(signum, _frame):
    close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install():
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGHUP, signal.SIG_DFL),
                         (signal.SIGINT, signal.default_int_handler)):
        if signal.getsignal(sig) is default:
            signal.signal(sig, _on_signal)
