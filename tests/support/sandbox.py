"""Talking to tools/xr-sandbox from inside a run: where the service is and how to restart it."""

from __future__ import annotations

import os
import socket

import pytest


def in_sandbox() -> bool:
    return os.environ.get("GMI_VR_SANDBOX") == "1"


def require_sandbox() -> None:
    """Skip (with the reason) outside tools/xr-sandbox; inside it, XR tests always run."""
    if not in_sandbox():
        pytest.skip(
            "needs the OpenXR runtime of tools/xr-sandbox (run: tools/xr-sandbox run -- python -m pytest -m xr)"
        )


def control(request: str, timeout_s: float = 90.0) -> int:
    """Send "pid", "ensure" or "restart" to the sandbox; returns the service's pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(os.environ["GMI_VR_MONADO_CONTROL"])
        sock.sendall(request.encode() + b"\n")
        answer = sock.makefile().readline().strip()
    status, _, value = answer.partition(" ")
    if status != "ok":
        raise RuntimeError(f"xr-sandbox could not {request} monado-service: {value}")
    return int(value)


def service_log_tail(lines: int = 30) -> str:
    try:
        with open(os.environ["GMI_VR_MONADO_LOG"], errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except (KeyError, OSError):
        return ""
