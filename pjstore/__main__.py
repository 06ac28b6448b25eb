"""`python -m pjstore` runs the command line (handy where the console script is not on PATH)."""

from pjstore.cli import main

main()
