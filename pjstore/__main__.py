"""`python -m pjstore` runs the command line (handy where the console script is not on PATH)."""

from pjstore.cli import main

# Guarded: spawned worker processes re-import the parent's __main__ module (as __mp_main__).
if __name__ == "__main__":
    main()
