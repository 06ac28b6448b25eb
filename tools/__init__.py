"""Wrappers of the external programs pjstore runs (jpegtran, in tools.jpegtran_wrapper)."""
