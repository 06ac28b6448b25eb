"""pjstore: store each JPEG once as a tuned progressive file; serve smaller sizes from prefixes."""

__version__ = "0.1.0"
