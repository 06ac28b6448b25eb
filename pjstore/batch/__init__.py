"""Batch ingest: prepare images in worker processes (local or on Dask), put them in one writer."""
