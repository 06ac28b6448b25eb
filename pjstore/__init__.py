"""pjstore: store each JPEG once as a tuned progressive file; serve smaller sizes from prefixes."""

__version__ = "0.1.0"

import os as _os

# The scan search is many small matrix products; multi-threaded BLAS only adds contention
# (3-4x slower when other processes share the cores), and batch ingest parallelises by
# process. Set before numpy loads; a user's own setting wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
