"""The therapist window under a real X server (Xvfb) and the demo rendered with no display.

Both run the product in a fresh interpreter: PyOpenGL binds GLX or EGL once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from support.screens import keep_picture, require_display, run_window_script, window_env
from support.window_in_process import (
    assert_escape_closes,
    assert_help_overlay,
    therapist_window_here,
    therapist_window_module,
)

from gmi_vr.app import run_demo
from gmi_vr.core.errors import GmiError, InputFileError


def _layout(size: tuple[int, int] | None = None, panel_px: int = 0) -> tuple[tuple[int, int, int, int], ...]:
    """Patient view, third-person pane and status bar of a window of ``size`` (default
    WINDOW_SIZE) whose right ``panel_px`` hold the console."""
    console = therapist_window_module()
    width, height = size or console.WINDOW_SIZE
    patient_area, third, status = console.pane_layout(width - panel_px, height)
    return console.letterbox(patient_area, 320 / 240), third, status


def _crop(image: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return image[y : y + h, x : x + w]


def _assert_shows_the_room(pane: np.ndarray, what: str) -> None:
    from gmi_vr.scene.room import room_draw_list

    clear = np.array(room_draw_list(None).clear_color[:3]) * 255
    colours = pane.reshape(-1, 3).astype(int)
    assert len(np.unique(colours // 8, axis=0)) > 30, f"{what}: a lit scene has many shades"
    # Only the sky through the window shares the clear colour's hue; the room covers the rest.
    assert (np.abs(colours - clear).max(axis=1) > 10).mean() > 0.8, f"{what}: more than the clear colour"


def test_pane_layout_letterboxes_the_patient_view_to_its_aspect() -> None:
    console = therapist_window_module()
    letterbox, pane_layout = console.letterbox, console.pane_layout

    assert letterbox((0, 0, 800, 300), 4 / 3) == (200, 0, 400, 300)
    assert letterbox((10, 20, 400, 600), 2.0) == (10, 220, 400, 200)
    patient, third, status = pane_layout(1280, 600)
    assert patient[2] == third[2] and patient[0] + patient[2] < third[0]
    assert status[1] >= patient[1] + patient[3]


@pytest.mark.display
@pytest.mark.parametrize("driven_by", ["motion file", "keyboard and mouse"])
def test_window_under_xvfb_shows_the_scene_in_both_panes(tmp_path: Path, driven_by: str) -> None:
    require_display()
    shot = tmp_path / f"therapist-window-xvfb-{driven_by.replace(' ', '-')}.png"
    motion = 'shipped_data_dir() / "demo-reach.jsonl"' if driven_by == "motion file" else "None"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gmi_vr.app import run_sim
        from gmi_vr.assets.locations import shipped_data_dir
        run_sim({motion}, max_frames=45, screenshot=Path({str(shot)!r}))
        """
    )
    env = window_env(GMI_VR_CONFIG=str(tmp_path / "absent.toml"), GMI_VR_DATA=str(tmp_path / "data"))
    run_window_script(script, env, timeout_s=300)
    image = np.asarray(Image.open(keep_picture(shot)).convert("RGB"))
    from gmi_vr.console.panels import PANEL_PX
    from gmi_vr.core.settings import Settings

    # The settings' window size (their defaults here: no settings file), panels at the right.
    defaults = Settings(data_dir=tmp_path)
    width, height = defaults.console_width, defaults.console_height
    assert image.shape == (height, width, 3)
    patient, third, status = _layout((width, height), PANEL_PX)
    _assert_shows_the_room(_crop(image, patient), "patient pane")
    _assert_shows_the_room(_crop(image, third), "third-person pane")
    bar = _crop(image, status)
    assert (bar.max(axis=-1) > 180).sum() > 300, "the status line's text"
    panels = _crop(image, (width - PANEL_PX, 0, PANEL_PX, height))
    assert len(np.unique(panels.reshape(-1, 3) // 8, axis=0)) > 20, "the console's panels are drawn"
    assert (panels.max(axis=-1) > 180).sum() > 2000, "the panels' text"


@pytest.mark.display
def test_the_settings_size_the_therapist_window(tmp_path: Path) -> None:
    require_display()
    shot = tmp_path / "therapist-window-sized.png"
    settings = tmp_path / "settings.toml"
    settings.write_text("console_width = 1100\nconsole_height = 640\n")
    script = ("from pathlib import Path\nfrom gmi_vr.app import run_sim\n"
              f"run_sim(None, max_frames=3, visible=False, screenshot=Path({str(shot)!r}))")
    env = window_env(GMI_VR_CONFIG=str(settings), GMI_VR_DATA=str(tmp_path / "data"))
    run_window_script(script, env, timeout_s=300)
    assert np.asarray(Image.open(shot)).shape[:2] == (640, 1100)


def test_demo_without_a_display_writes_what_patient_and_therapist_saw(tmp_path: Path) -> None:
    out = tmp_path / "demo out"
    script = f"from pathlib import Path\nfrom gmi_vr.app import run_demo\nprint(run_demo(Path({str(out)!r})))"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    patient_path, therapist_path = out / "patient-view.png", out / "therapist-window.png"
    assert str([patient_path, therapist_path]) in result.stdout
    patient = np.asarray(Image.open(keep_picture(patient_path)).convert("RGB"))
    therapist = np.asarray(Image.open(keep_picture(therapist_path)).convert("RGB"))
    assert patient.shape == (240, 640, 3)
    left, right = patient[:, :320], patient[:, 320:]
    _assert_shows_the_room(left, "left eye")
    _assert_shows_the_room(right, "right eye")
    # Two eyes 63 mm apart: close to each other, but not the same picture.
    difference = np.abs(left.astype(int) - right.astype(int)).max(axis=-1)
    assert 0.01 < (difference > 20).mean() < 0.5
    patient_pane, third, _ = _layout()
    _assert_shows_the_room(_crop(therapist, patient_pane), "therapist's patient pane")
    _assert_shows_the_room(_crop(therapist, third), "therapist's third-person pane")


def test_demo_refuses_a_malformed_motion_file_before_rendering(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "gmi-vr-motion", "version": 1}\n{"t": 1}\n{"t": 0.5}\n')
    with pytest.raises(InputFileError, match=r"bad.jsonl, line 3"):
        run_demo(tmp_path / "out", bad)
    assert not (tmp_path / "out").exists(), "nothing written for a run that cannot start"


def test_demo_refuses_an_output_folder_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(GmiError, match="Cannot write into .*a file/out"):
        run_demo(blocker / "out")


@pytest.mark.display
@pytest.mark.gl
def test_window_input_reaches_the_simulator_and_the_orbit_camera(tmp_path: Path) -> None:
    require_display()
    console = therapist_window_module()
    import glfw

    from gmi_vr.core.input import InputState
    from gmi_vr.xr.sim_source import KEY_HELP, KeyboardMouseFrameSource

    state = InputState()
    clock = iter(float(i) / 60 for i in range(1000))
    with therapist_window_here("gmi-vr input test", state) as window:
        window.view.help_rows = KEY_HELP  # the app hands the simulator's keys to the window
        context = window.context
        source = KeyboardMouseFrameSource(state, lambda: next(clock))
        frames = source.frames()
        handle = context.window
        window._on_key(handle, glfw.KEY_2, 0, glfw.PRESS, 0)
        window._on_key(handle, glfw.KEY_W, 0, glfw.PRESS, 0)
        window._on_key(handle, glfw.KEY_F1, 0, glfw.PRESS, 0)
        assert state.keys_down == {"2", "w", "f1"} and window.view.show_help
        first = next(frames)
        later = next(frames)
        assert later.right.grip.position[2] < first.right.grip.position[2], "W moves the right hand forward"
        window._on_key(handle, glfw.KEY_W, 0, glfw.RELEASE, 0)
        assert "w" not in state.keys_down
        # A drag in the third-person pane orbits its camera; the simulator sees nothing.
        patient, third, _ = console.pane_layout(*context.framebuffer_size())
        window._on_cursor(handle, third[0] + 50, third[1] + 50)
        window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
        yaw = window.view.orbit.yaw_deg
        window._on_cursor(handle, third[0] + 90, third[1] + 50)
        window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
        assert window.view.orbit.yaw_deg != yaw and state.look_dx == 0 and not state.mouse_buttons
        # The left button over the patient's view pulls the trigger.
        window._on_cursor(handle, patient[0] + 50, patient[1] + 50)
        window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
        assert next(frames).right.trigger == 1.0
        pixels = window.show(_room(later), later,
                             "input test", capture=True)
        assert pixels is not None
        shot = tmp_path / "therapist-window-help.png"
        Image.fromarray(pixels[:, :, :3]).save(shot)
        keep_picture(shot)
        # The help overlay covers the patient pane's top left with light text on dark.
        assert_help_overlay(pixels, patient, 200)
        assert_escape_closes(window)


def _room(frame: Any) -> Any:
    from gmi_vr.scene.room import room_draw_list

    return room_draw_list(frame)


@pytest.mark.display
@pytest.mark.gl
def test_in_a_patients_session_escape_and_the_close_button_ask_instead_of_closing() -> None:
    require_display()
    import glfw

    from gmi_vr.app.controls import ESCAPE_PROMPT, TherapistControls, console_keys
    from gmi_vr.core.types import Side
    from gmi_vr.therapy.plan.program import BodyPart, Program
    from gmi_vr.therapy.runner import SessionRunner

    controls = TherapistControls(SessionRunner(Program.default(Side.LEFT, BodyPart.HAND), 3))
    with therapist_window_here("gmi-vr escape test") as window:
        handle = window.context.window
        # Free play (the default): Escape quits at once.
        window._on_key(handle, glfw.KEY_ESCAPE, 0, glfw.PRESS, 0)
        assert window.should_close()
        window.cancel_close()
        window.take_console_keys()
        # A patient's session: Escape is handed to the controls, the window stays open.
        window.escape_closes = False
        window._on_key(handle, glfw.KEY_ESCAPE, 0, glfw.PRESS, 0)
        assert not window.should_close()
        assert console_keys(window, controls) == ["escape"]
        # The close button (GLFW sets the close flag): taken back and asked like Escape.
        glfw.set_window_should_close(handle, True)
        assert console_keys(window, controls) == ["escape"] and not window.should_close()
        controls.handle(["escape"], 1.0)
        assert controls.message == ESCAPE_PROMPT
        # Once the therapist has asked to quit, a close request is left alone.
        controls.quit_requested = True
        glfw.set_window_should_close(handle, True)
        assert console_keys(window, controls) == [] and window.should_close()
