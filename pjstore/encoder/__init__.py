"""JPEG structure, the scan-script model, and lossless transcoding."""
