"""Helpers for crash tests: SIGKILL a process (or its whole tree) and check what it leaves behind."""

from __future__ import annotations

import os
import signal

import psutil

from pjstore.fsck import fsck
from pjstore.storage import LmdbStorage

ORPHAN_GRACE = 10.0  # seconds for helpers to notice their parent died (they poll twice a second)


def kill(pid: int, whole_tree: bool = False) -> None:
    """SIGKILL `pid` (with every descendant if `whole_tree`, as an OOM kill of a container would),
    then assert that no descendant outlives it: helpers must not be left orphaned. The caller
    reaps `pid` itself."""
    process = psutil.Process(pid)
    descendants = process.children(recursive=True)
    for victim in [process, *descendants] if whole_tree else [process]:
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(descendants, timeout=ORPHAN_GRACE)
    assert not alive, f"processes outlived their killed parent: {alive}"


def assert_store_verifies(location: os.PathLike | str) -> list[str]:
    """fsck finds nothing wrong with the store (every listed image verifies, no orphans); its ids."""
    with LmdbStorage(location) as store:
        report = fsck(store)
        assert report.problems == (), report.problems
        return store.list()
