"""The quality contract: target sizes, how reference and candidate images are made, and metrics."""
