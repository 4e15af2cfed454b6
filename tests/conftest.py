"""Shared fixtures. Tests marked ``xr`` run only inside tools/xr-sandbox (pytest -m xr)."""
