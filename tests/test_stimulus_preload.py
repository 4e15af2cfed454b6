"""No frame waits for a model file: the window's renderer holds every shipped stimulus before
the first frame, so the first laterality picture does not stall the headset while its model
loads (it took about 200 ms on the build machine, a visible stall in the headset)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gmi_vr.render.renderer as renderer_module
from gmi_vr.app.session_setup import installed_stimulus_meshes, session_pipeline
from gmi_vr.app.window_setup import open_therapist_window
from gmi_vr.geometry.camera import Camera
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

SEATED = "\n".join([
    '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}',
    '{"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -15, 0]},'
    ' "right": {"position": [0.18, 0.86, -0.38], "yaw_pitch_roll_deg": [0, -10, 0]}}',
    '{"t": 12.0, "right": {"position": [0.18, 0.86, -0.38]}}',
])  # fmt: skip


@pytest.fixture
def laterality_patient(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    for args in (["patients", "add", "P-7", "--side", "left", "--part", "hand", "--by", "t.one"],
                 ["patients", "edit", "P-7", "--set", 'session.blocks=["laterality"]',
                  "--set", "session.rating_at_start=false", "--reason", "test", "--by", "t.one"]):  # fmt: skip
        subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], check=True, capture_output=True)
    return "P-7"


def test_the_first_laterality_picture_draws_without_loading_a_file(laterality_patient, monkeypatch) -> None:
    assert {"stimuli/hand_left", "stimuli/hand_right"} <= installed_stimulus_meshes()
    with open_therapist_window("test", visible=False, preload=installed_stimulus_meshes()) as window:
        loads: list[str] = []

        def no_file_during_frames(name: str, *args: object) -> None:
            loads.append(name)
            raise AssertionError(f"{name} was loaded during a frame")

        monkeypatch.setattr(renderer_module, "load_mesh", no_file_during_frames)
        renderer, shown = window.view.renderer, set()
        with session_pipeline(laterality_patient, source="sim", seed=3, therapist="t.one") as pipeline, \
                ScriptedFrameSource(parse_motion(SEATED)) as source:  # fmt: skip
            for frame in source.frames():
                output = pipeline.step(frame)
                renderer.draw(output.draw, Camera.from_view(frame.views[0]), 0, 64, 64)
                shown |= {item.mesh for item in output.draw.meshes if item.mesh.startswith("stimuli/")}
                if shown:
                    break
            pipeline.ended_by = "test"
    assert shown, "a laterality picture was shown within the motion"
    assert loads == []


def test_without_preloading_the_picture_would_load_its_model_in_the_frame(laterality_patient, monkeypatch) -> None:
    """The check above can fail: without ``preload`` the first picture loads its model."""
    real_load = renderer_module.load_mesh
    loads: list[str] = []

    def counted(name: str, *args: object) -> object:
        loads.append(name)
        return real_load(name, *args)

    with open_therapist_window("test", visible=False) as window:
        monkeypatch.setattr(renderer_module, "load_mesh", counted)
        with session_pipeline(laterality_patient, source="sim", seed=3, therapist="t.one") as pipeline, \
                ScriptedFrameSource(parse_motion(SEATED)) as source:  # fmt: skip
            for frame in source.frames():
                output = pipeline.step(frame)
                window.view.renderer.draw(output.draw, Camera.from_view(frame.views[0]), 0, 64, 64)
                if any(item.mesh.startswith("stimuli/") for item in output.draw.meshes):
                    break
            pipeline.ended_by = "test"
    assert any(name.startswith("stimuli/hand_") for name in loads)
