"""User-facing failures of the OpenXR layer that need no runtime to provoke.

Run in a subprocess: importing pyopenxr switches PyOpenGL to its GLX platform for the whole
process, which must not leak into the offscreen tests sharing this pytest run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import json
    from gmi_vr.core.errors import GmiError
    import gmi_vr.xr.runtime as runtime

    # A runtime that offers hand tracking but no OpenGL (e.g. a Vulkan-only runtime).
    runtime.offered_extensions = lambda: ["XR_KHR_vulkan_enable2", "XR_EXT_hand_tracking"]
    try:
        runtime.create_instance("gmi-vr test")
    except GmiError as error:
        print(json.dumps({"type": type(error).__name__, "message": str(error), "code": error.exit_code}))
    """
)


def test_a_runtime_without_opengl_is_one_clear_sentence() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    error = json.loads(result.stdout.strip().splitlines()[-1])
    assert error == {
        "type": "GraphicsUnavailable",
        "message": "The active OpenXR runtime does not support OpenGL (XR_KHR_opengl_enable): "
        "switch to a runtime that does (Monado, SteamVR) or use --sim.",
        "code": 5,
    }
