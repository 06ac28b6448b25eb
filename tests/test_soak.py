"""Sustained load (slow): 8 uploaders and 32 readers for 60 s against `pjstore serve --workers 2`:
no 5xx, nothing lost or corrupted, the store verifies, memory flat. `eval/soak_server.py` runs the
same and prints the figures."""

from __future__ import annotations

import pytest

from soak import soak

UPLOAD_QUEUE = ("--upload-queue", "8")  # 8 uploaders may all land on one worker: none is refused
MAX_GROWTH = 1.5  # mean memory of the last third of the run over the first third


@pytest.mark.slow
def test_sixty_seconds_of_uploads_and_reads(tmp_path):
    result = soak(tmp_path / "store", seconds=60, uploaders=8, readers=32, serve_args=UPLOAD_QUEUE)
    print(result)
    assert result.failures == () and result.server_errors == 0
    assert result.uploads.count > 0 and result.reads.count > 0
    assert result.images_stored >= result.uploads.count
    assert result.heap.growth < MAX_GROWTH, result.heap  # RSS also counts the store's growing map
    assert result.memory.growth < MAX_GROWTH, result.memory
