"""Run a dask.distributed LocalCluster for the tests: scheduler and two one-thread worker processes
on loopback. Prints the scheduler address, then serves until stdin closes."""

import sys

from distributed import LocalCluster

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()
