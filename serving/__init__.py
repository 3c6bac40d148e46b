"""TF Serving client and a local TF-Serving-compatible server (in progress)."""
