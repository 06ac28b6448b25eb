"""The distributed runner: `prepare` on a dask.distributed cluster, results back to this writer.

File bytes travel with each task rather than paths, so workers need no shared filesystem; they
do need pjstore and jpegtran installed (the task is `pjstore.ingest.prepare`, pickled by name).
"""

from __future__ import annotations

from collections.abc import Collection

from distributed import Client, Future, as_completed

from pjstore.ingest import IngestOptions, prepare


class DaskRunner:
    def __init__(self, scheduler: str):
        self._client = Client(scheduler, set_as_default=False)
        threads = sum(self._client.nthreads().values())
        self.capacity = max(2, 2 * threads)
        # Every submitted job goes in here, so its completion order is the in-flight set's.
        self._completed = as_completed(loop=self._client.loop)

    def submit(self, source: bytes, options: IngestOptions) -> Future:
        # pure=False: the batch loop already sends each distinct file once.
        job = self._client.submit(prepare, source, options, pure=False)
        self._completed.add(job)
        return job

    def wait_first(self, jobs: Collection[Future]) -> Collection[Future]:
        return self._completed.next_batch(block=True)

    def cancel(self, jobs: Collection[Future]) -> None:
        self._client.cancel(list(jobs))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
