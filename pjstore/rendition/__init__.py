"""Renditions: the recipe a stored scale is served with, and the write-time search that picks it."""
