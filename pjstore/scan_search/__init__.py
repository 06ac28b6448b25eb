"""Write-time choice of a scan plan: the default progression, or the per-image tuned search."""
