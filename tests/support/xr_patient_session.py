"""What the XR support apps that run a stored patient's session in the headset share
(xr_laterality_app.py, xr_seen_touch_app.py, xr_stop_app.py): their command line, the
product's renderer drawing the eyes in a hidden window's GL context, the real
``OpenXrSource`` and ``session_pipeline`` opened as ``gmi-vr run --patient`` opens them, when
the run ends, and the JSON result it leaves. An app's ``main`` reads::

    args = patient_app_arguments(max_seconds=60.0).parse_args()
    run = PatientHeadsetRun("gmi-vr stop test", args.max_seconds)  # the GL context first
    ...  # what needs pyopenxr or the remote driver
    try:
        with run.session(args.patient) as (source, pipeline):
            for frame in source.frames():
                output = pipeline.step(frame)
                ...
                run.end_when_done(source, frame, output.done)
    finally:
        ...  # give the remote driver's state back
        run.release()
    return run.write(args.out)

Import it after the app has chosen its GL platform (``choose_gl_platform``): it imports the
renderer, and so OpenGL.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.core.errors import GmiError
from gmi_vr.render.context import open_window_context
from gmi_vr.render.renderer import Renderer
from support.xr_app_refusal import refused

if TYPE_CHECKING:
    from gmi_vr.app.pipeline import SessionPipeline
    from gmi_vr.core.types import TrackingFrame
    from gmi_vr.xr.openxr_source import OpenXrSource


def patient_app_arguments(max_seconds: float) -> argparse.ArgumentParser:
    """The command line every patient app takes: ``PATIENT --out RESULT.json [--max-seconds
    S]`` (S: the run's wall-clock limit, ``max_seconds`` unless given); an app adds its own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("patient")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=max_seconds)
    return parser


class PatientHeadsetRun:
    """One patient app's run: a hidden 64×64 window's GL context (made before pyopenxr is
    imported: a GLFW window made after the API layers were set up crashed the loader), the
    product's ``Renderer`` for the eyes, the ``result`` written at the end ("frames" run,
    "session_id", "done" when the plan ended, "error" on a refusal) and the exit ``status``."""

    def __init__(self, title: str, max_seconds: float) -> None:
        self.context = open_window_context(64, 64, title=title, visible=False)
        import xr  # noqa: F401  (after the GL context)

        self.renderer = Renderer()
        self.max_seconds = max_seconds
        self.result: dict[str, object] = {"frames": 0}
        self.status = 0
        self.started = time.monotonic()
        self._stop_requested = False

    @contextmanager
    def session(self, patient: str, api_layers: Sequence[str] = (),
                hands_only: bool = False) -> Iterator[tuple[OpenXrSource, SessionPipeline]]:  # fmt: skip
        """The real frame source and ``patient``'s recorded session pipeline (named after the
        runtime and system, as ``gmi-vr run`` names them). A ``GmiError`` raised inside ends
        the run as the CLI ends it (``refused``): the block is left, the error's sentence is
        in the result and its exit code in ``status``."""
        from gmi_vr.xr.openxr_source import OpenXrSource

        eyes = functools.partial(self.renderer.draw, unorm_holds_linear=True)
        try:
            with OpenXrSource(eyes, gl_context=self.context, api_layers=api_layers,
                              hands_only=hands_only) as source:  # fmt: skip
                info = source.info
                with session_pipeline(patient, source="openxr",
                                      runtime_name=info.runtime_name if info else None,
                                      system_name=info.system_name if info else None) as pipeline:  # fmt: skip
                    assert pipeline.recorder is not None
                    self.result["session_id"] = pipeline.recorder.session_id
                    yield source, pipeline
        except GmiError as error:
            self.status = refused(error, self.result)

    def end_when_done(self, source: OpenXrSource, frame: TrackingFrame, done: bool,
                      stopped: bool = False) -> None:  # fmt: skip
        """Counts ``frame`` as run and, once, asks ``source`` to end the session when the plan
        is ``done``, the patient ``stopped`` it, or the run took longer than its limit (then
        "done" is false: the plan did not end)."""
        self.result["frames"] = frame.index + 1
        too_long = time.monotonic() - self.started > self.max_seconds
        if not self._stop_requested and (done or stopped or too_long):
            self.result["done"] = done
            source.request_stop()
            self._stop_requested = True

    def release(self) -> None:
        """Free the renderer's GL objects and the window."""
        self.renderer.release()
        self.context.release()

    def write(self, out: Path) -> int:
        """Write the result to ``out`` (JSON); returns the run's exit status."""
        out.write_text(json.dumps(self.result))
        return self.status
