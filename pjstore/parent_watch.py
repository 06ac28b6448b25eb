"""Helper processes exit when the process that started them dies, however it died.

A process killed outright (SIGKILL, the OOM killer) runs no cleanup, so nothing would tell its
children to stop: idle pool processes and server workers would live on, still holding the store
open and the port. prctl(PR_SET_PDEATHSIG) would do this in the kernel, but it is Linux-only and
some sandboxed kernels accept it without ever sending the signal (seen here), so a thread polls
the parent's pid instead.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 0.5


def exit_with_parent(parent: int) -> None:
    """Start a daemon thread that ends this process once `parent` is no longer its parent.

    Comparing with the expected pid, rather than waiting for a change, also catches a parent that
    died while this process was still starting (it was re-parented before the check began).
    """
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)
