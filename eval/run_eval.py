"""The evaluation suite as a plain script (same options as `pjstore eval`), using this checkout's code:

    python eval/run_eval.py /work/shared/corpus/photos --out eval/results --workers 2
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.cli import main  # noqa: E402

if __name__ == "__main__":
    main(["eval", *sys.argv[1:]], prog_name="run_eval.py")
