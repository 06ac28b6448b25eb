"""`python -m pjstore.cli`, as `python -m pjstore` and the `pjstore` script."""

from pjstore.cli import main

# Guarded: spawned worker processes re-import the parent's __main__ module (as __mp_main__).
if __name__ == "__main__":
    main()
