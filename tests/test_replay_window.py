"""``gmi-vr replay``: a session recorded into a real SQLite store, played back in the
therapist window under a real X server (Xvfb), plus the playback clock and the player's
seek logic with the time passed in.

Window runs happen in a fresh interpreter where they must choose GLX themselves (PyOpenGL
binds one platform per process); the key test runs in this one, like the simulator's.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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

from gmi_vr.app.replay_run import (
    AFFECTED_COLOR,
    FIGURE_BONES,
    FIGURE_COLOR,
    SEEK_STEP_S,
    PlaybackClock,
    ReplayPlayer,
    body_figure_items,
    replay_body,
    run_replay,
)
from gmi_vr.body import SKIN_TONES, BodySettings, BodyState, Calibration, LimbMode, solve_body
from gmi_vr.body.skeleton import JOINT_INDEX
from gmi_vr.core.errors import NotFoundError
from gmi_vr.core.events import Event
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.geometry.camera import Camera
from gmi_vr.recording.replay_source import ReplaySource
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import SkinnedItem

RATE_HZ = 90.0
SECONDS = 12.0
T0_NS = 1_000_000_000_000
FRAMES = int(SECONDS * RATE_HZ)
STILL_FROM_FRAME = round(10.5 * RATE_HZ)
HEAD = Pose((0.0, 1.2, 0.0), (0.0, 0.0, 0.0, 1.0))  # seated eyes, looking along -Z
LEFT_REST = (-0.2, 0.75, -0.2)
#: The right (healthy) hand reaches from near the body to out in front over the first 10 s.
RIGHT_FROM, RIGHT_TO = np.array([0.22, 0.80, -0.25]), np.array([0.30, 1.15, -0.60])


def _hand(position: tuple[float, ...]) -> HandInput:
    grip = Pose(position, (0.0, 0.0, 0.0, 1.0))
    return HandInput(grip=grip, grip_valid=True, aim=grip, aim_valid=True, trigger=0.0, squeeze=0.0,
                     thumbstick=(0.0, 0.0), primary=False)


def right_at(t: float) -> np.ndarray:
    a = min(1.0, t / 10.0)
    return RIGHT_FROM * (1 - a) + RIGHT_TO * a


def reach_frame(i: int) -> TrackingFrame:
    """Frame ``i`` at 90 Hz: the head still, the left (affected) controller resting, the
    right one reaching forward and up."""
    time_ns = T0_NS + round(i * 1e9 / RATE_HZ)
    return TrackingFrame(index=i, time_s=time_ns / 1e9, time_ns=time_ns, head=HEAD, head_valid=True,
                         left=_hand(LEFT_REST), right=_hand(tuple(right_at(i / RATE_HZ))))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with session 1 (12 s of reaching, patient P0001, left hand affected, the
    broad avatar in a dark skin tone, the affected limb still from 10.5 s) and session 2
    (started and finished with no frame)."""
    folder = tmp_path_factory.mktemp("replay") / "data"
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P0001", affected_side="left", body_part="hand"))
        # The whole session queued at once (faster than real time): a queue that holds it.
        recorder = store.start_session(
            "P0001", source="test", queue_frames=2 * FRAMES,
            settings={"appearance": {"avatar": "broad", "skin_tone": "dark"}},
        )  # fmt: skip
        for i in range(FRAMES):
            recorder.record_frame(reach_frame(i))
            if i == STILL_FROM_FRAME:  # a task asks for the resting affected limb (imagery)
                recorder.record_event(Event(reach_frame(i).time_s, "body.mode", {"mode": "still", "blend": 0.0}))
        stats = recorder.finish()
        assert stats.dropped_frames == 0
        store.start_session("P0001", source="test").finish()
    return folder


@pytest.fixture
def store(data_dir: Path):
    with SessionStore.open(data_dir) as opened:
        yield opened


# --------------------------------------------------------------------------- the clock


def test_clock_plays_in_real_time_pauses_and_resumes() -> None:
    clock = PlaybackClock(100.0, 112.0, now_s=50.0)
    assert clock.playing and clock.position(50.0) == 100.0
    assert clock.position(52.5) == pytest.approx(102.5)
    clock.pause(53.0)
    assert not clock.playing and clock.position(60.0) == pytest.approx(103.0)
    clock.play(70.0)
    assert clock.position(71.0) == pytest.approx(104.0), "resumes where it paused"
    clock.toggle(72.0)
    assert not clock.playing and clock.position(99.0) == pytest.approx(105.0)


def test_clock_seeks_within_the_recording_and_keeps_play_or_pause() -> None:
    clock = PlaybackClock(100.0, 112.0, now_s=0.0, playing=False, at_s=104.0)
    assert clock.position(5.0) == 104.0
    clock.seek_by(5.0, 6.0)
    assert clock.position(7.0) == 109.0 and not clock.playing
    clock.seek_by(5.0, 8.0)
    assert clock.position(8.0) == 112.0, "clamped at the end"
    clock.seek_by(-50.0, 9.0)
    assert clock.position(9.0) == 100.0, "clamped at the start"
    clock.play(10.0)
    clock.seek(106.0, 11.0)
    assert clock.playing and clock.position(12.0) == pytest.approx(107.0)
    assert PlaybackClock(100.0, 112.0, 0.0, at_s=90.0).position(0.0) == 100.0
    with pytest.raises(ValueError):
        PlaybackClock(112.0, 100.0, 0.0)


def test_clock_pauses_at_the_end_and_plays_again_from_the_start() -> None:
    clock = PlaybackClock(100.0, 112.0, now_s=0.0, at_s=110.0)
    clock.update(1.0)
    assert clock.playing
    clock.update(5.0)
    assert not clock.playing and clock.position(9.0) == 112.0
    clock.play(10.0)
    assert clock.playing and clock.position(11.0) == pytest.approx(101.0)


# --------------------------------------------------------------------------- the player


def _player(store: SessionStore, source: ReplaySource, rods: bool = True) -> ReplayPlayer:
    clock = PlaybackClock(source.start_s, source.end_s, now_s=0.0, playing=False)
    return ReplayPlayer(source, clock, replay_body(store, 1), body_as_rods=rods)


def test_player_follows_the_clock_through_the_recording_and_seeks(store: SessionStore) -> None:
    with ReplaySource(store, 1) as source:
        player = _player(store, source)
        assert player.update(0.0).frame.index == 0
        assert player.update(5.0).frame.index == 0, "paused: the picture stays"
        assert player.status(5.0) == "replay: session 1, patient P0001, t = 0.0 / 12.0 s, paused   (F1: keys)"
        assert player.handle_key("space", 10.0)
        shown = player.update(12.0)
        assert shown.frame.index == 180, "two seconds of play at 90 Hz"
        assert player.status(12.0).startswith("replay: session 1, patient P0001, t = 2.0 / 12.0 s, playing")
        np.testing.assert_allclose(shown.frame.right.grip.position, right_at(2.0), atol=1e-6)
        assert player.handle_key("right_arrow", 12.0)
        assert player.update(12.0).frame.index == 180 + round(SEEK_STEP_S * RATE_HZ)
        for _ in range(3):
            player.handle_key("left_arrow", 12.0)
        assert player.update(12.0).frame.index == 0, "seeking back stops at the start"
        player.handle_key("right_arrow", 12.0)
        player.handle_key("home", 13.0)
        assert player.update(13.0).frame.index == 0
        assert not player.handle_key("w", 13.0)
        # Played to the end it pauses on the last frame; space then plays from the start.
        last = player.update(100.0)
        assert last.frame.index == FRAMES - 1 and not player.clock.playing
        assert ", paused" in player.status(100.0)
        player.handle_key("space", 101.0)
        assert player.update(101.5).frame.index == 45


def test_player_shows_the_mirrored_body_solved_from_the_recording(store: SessionStore) -> None:
    with ReplaySource(store, 1) as source:
        player = _player(store, source)
        player.handle_key("right_arrow", 0.0)
        player.handle_key("right_arrow", 0.0)
        body = player.update(0.0).body
        assert player.shown.frame.index == round(2 * SEEK_STEP_S * RATE_HZ)
        # The left (affected) hand is drawn as the right one reflected across the midline
        # (x = 0 for a patient calibrated at the origin facing -Z), not where its controller rests.
        right, left = body.displayed_right.position, body.displayed_left.position
        np.testing.assert_allclose(left, right * np.array([-1.0, 1.0, 1.0]), atol=1e-6)
        assert np.linalg.norm(left - np.array(LEFT_REST)) > 0.3
        draw_list = player.draw_list()
        cylinders = [m for m in draw_list.meshes if m.mesh == "cylinder"]
        wrist = body.world_from_joint[JOINT_INDEX["leftHand"], :3, 3]
        ends = [m.world_from_mesh[:3, 3] + 0.5 * m.world_from_mesh[:3, 1] for m in cylinders]
        assert min(np.linalg.norm(e - wrist) for e in ends) < 1e-9, "a rod ends at the mirrored wrist"
        assert len(cylinders) >= len(FIGURE_BONES)  # the room may hold cylinders of its own
        assert draw_list.skinned == (), "no avatar without a rig"
        # The rods of the affected arm (the mirror's work) stand out; the healthy arm's do not.
        figure = body_figure_items(body)
        assert len(figure) == len(FIGURE_BONES)
        by_bone = dict(zip(FIGURE_BONES, figure, strict=True))
        assert by_bone["leftLowerArm"].color == by_bone["leftHand"].color == AFFECTED_COLOR
        assert by_bone["rightLowerArm"].color == by_bone["leftUpperLeg"].color == FIGURE_COLOR
        player.body_as_rods = False
        assert len(player.draw_list().meshes) == len(draw_list.meshes) - len(figure)


def test_player_puts_the_avatar_in_the_draw_list(store: SessionStore) -> None:
    from gmi_vr.assets.gltf_skin import load_skinned_gltf
    from gmi_vr.assets.locations import model_path
    from gmi_vr.body import AvatarRig
    with ReplaySource(store, 1) as source:
        player = _player(store, source)
        skin = load_skinned_gltf(model_path("avatars/avatar_broad"))
        player.rig = AvatarRig(skin, player.body.calibration.measures)  # type: ignore[arg-type]
        player.update(0.0)
        (avatar,) = player.draw_list().skinned
        assert isinstance(avatar, SkinnedItem), "the avatar the session was recorded with"
        assert avatar.avatar == "avatars/avatar_broad" and avatar.tint == SKIN_TONES["dark"]
        assert avatar.palette.shape == (player.rig.joint_count, 4, 4) and np.isfinite(avatar.palette).all()


def test_the_body_uses_the_patients_calibration_and_the_sessions_settings(tmp_path: Path) -> None:
    from gmi_vr.body import CalibrationError

    with SessionStore.open(tmp_path / "data") as store:
        store.add_patient(PatientInfo("P0002", affected_side="right", body_part="hand"))
        store.start_session("P0002", source="test").finish()
        body = replay_body(store, 1)
        assert body.calibration.measures.height_m == pytest.approx(1.70), "average proportions until calibrated"
        assert body.settings.affected_side is Side.RIGHT and body.settings.mode is LimbMode.MIRROR
        assert body.appearance.avatar_model == "avatars/avatar_slim" and body.mode_changes == ()
        store.add_calibration("P0002", Calibration.uncalibrated(height_m=1.60).to_dict())
        store.add_calibration("P0002", Calibration.uncalibrated(height_m=1.85).to_dict())
        store.update_patient_settings("P0002", {"body": BodySettings(mode=LimbMode.REAL).to_dict()})
        body = replay_body(store, 1)
        assert body.calibration.measures.height_m == pytest.approx(1.85)
        assert body.settings.mode is LimbMode.REAL and body.settings.affected_side is Side.RIGHT
        # What the session itself ran with comes first.
        ran_with = BodySettings(mode=LimbMode.BLEND, blend=0.25, affected_side=Side.RIGHT)
        store.start_session("P0002", source="test", settings={"body": ran_with.to_dict()}).finish()
        assert replay_body(store, 2).settings == ran_with
        store.add_calibration("P0002", {"version": 1, "posture": "seated"})
        with pytest.raises(CalibrationError, match="calibrate the patient again"):
            replay_body(store, 1)


def test_the_replayed_body_follows_the_recorded_limb_mode(store: SessionStore) -> None:
    body = replay_body(store, 1)
    still_from = reach_frame(STILL_FROM_FRAME).time_s
    assert [(t, mode) for t, mode, _ in body.mode_changes] == [(pytest.approx(still_from), LimbMode.STILL)]
    assert body.settings_at(still_from - 0.01).mode is LimbMode.MIRROR
    assert body.settings_at(still_from).mode is LimbMode.STILL
    with ReplaySource(store, 1) as source:
        player = _player(store, source)
        player.handle_key("space", 0.0)
        player.clock.seek(source.start_s + 10.0, 0.0)
        mirrored = player.update(0.0).body
        resting = player.update(1.0).body  # played on through the change at 10.5 s
        assert (mirrored.mode, resting.mode) == (LimbMode.MIRROR, LimbMode.STILL)
        right, left = resting.displayed_right.position, resting.displayed_left.position
        assert np.linalg.norm(left - right * np.array([-1.0, 1.0, 1.0])) > 0.1, "no longer the mirror"


def test_a_missing_session_and_one_without_motion_are_one_sentence_each(store: SessionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^No session 42 in .*; run 'gmi-vr sessions' to list them\.$"):
        run_replay(store, 42, visible=False)
    with pytest.raises(NotFoundError, match=r"^Session 2 has no recorded motion to replay\.$"):
        run_replay(store, 2, visible=False)


def test_without_a_display_replay_says_so(data_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gmi_vr.app.replay_run import run_replay
        from gmi_vr.core.errors import GraphicsUnavailable
        from gmi_vr.recording.store import SessionStore
        with SessionStore.open(Path({str(data_dir)!r})) as store:
            try:
                run_replay(store, 1, visible=False, max_frames=1)
            except GraphicsUnavailable as error:
                print("refused:", error)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "refused: No display is available for a window" in result.stdout


# --------------------------------------------------------------------------- the window


def _pixel(camera: Camera, point: np.ndarray, rect: tuple[int, int, int, int]) -> tuple[int, int]:
    """Where world ``point`` lands in the window (x, y from the top left) when ``camera``
    draws into ``rect``."""
    clip = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose)) @ np.append(point, 1.0)
    assert clip[3] > 0, "in front of the camera"
    ndc = clip[:3] / clip[3]
    return (round(rect[0] + (ndc[0] + 1) / 2 * rect[2]), round(rect[1] + (1 - ndc[1]) / 2 * rect[3]))


def _patch(image: np.ndarray, xy: tuple[int, int], radius: int) -> np.ndarray:
    x, y = xy
    return image[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3).astype(int)


def _changed(first: np.ndarray, second: np.ndarray, xy: tuple[int, int], radius: int) -> float:
    """Fraction of the pixels around ``xy`` that differ clearly between two pictures."""
    change = np.abs(_patch(first, xy, radius) - _patch(second, xy, radius)).max(axis=1)
    return float((change > 40).mean())


def _replay_shot(data_dir: Path, shot: Path, at_s: float) -> np.ndarray:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gmi_vr.app.replay_run import run_replay
        from gmi_vr.recording.store import SessionStore
        with SessionStore.open(Path({str(data_dir)!r})) as store:
            run_replay(store, 1, visible=False, max_frames=2, screenshot=Path({str(shot)!r}),
                       start_paused=True, start_at_s={at_s})
        """
    )
    run_window_script(script, timeout_s=300)
    return np.asarray(Image.open(keep_picture(shot)).convert("RGB"))


@pytest.mark.display
def test_replay_window_shows_the_recorded_hands_where_they_were(data_dir: Path, tmp_path: Path) -> None:
    require_display()
    console = therapist_window_module()
    early = _replay_shot(data_dir, tmp_path / "replay-at-1s.png", 1.0)
    late = _replay_shot(data_dir, tmp_path / "replay-at-9s.png", 9.0)
    from gmi_vr.console.panels import PANEL_PX

    full_width, height = console.WINDOW_SIZE  # the settings' default console size
    assert early.shape == late.shape == (height, full_width, 3)
    width = full_width - PANEL_PX  # the console's read-only panels at the right
    patient_area, third, status = console.pane_layout(width, height, console.TIMELINE_PX)
    patient = console.letterbox(patient_area, 4 / 3)  # replayed frames keep no eye views
    for image in (early, late):
        for x, y, w, h in (patient, third):
            colours = image[y : y + h, x : x + w].reshape(-1, 3)
            assert len(np.unique(colours // 8, axis=0)) > 30, "a lit room, not a clear colour"

    # The patient's view: at 9 s the reaching right hand and, mirrored, the left one are in
    # sight where the recorded grip and the solved wrist project; at 1 s both are below it
    # and the wall shows there. (Drawn as the controller and rods, or as the avatar.)
    view = Camera.symmetric(HEAD, math.radians(74), 4 / 3)
    calibration = Calibration.uncalibrated(affected_side=Side.LEFT)
    with SessionStore.open(data_dir) as store, ReplaySource(store, 1) as source:
        frame = source.frame_at(source.start_s + 9.0)
    body = solve_body(frame, calibration, BodySettings(affected_side=Side.LEFT), BodyState())
    hand = _pixel(view, right_at(9.0), patient)
    wrist = _pixel(view, body.world_from_joint[JOINT_INDEX["leftHand"], :3, 3], patient)
    assert wrist[0] < patient[0] + patient[2] / 2 < hand[0], "the mirrored wrist is on the left"
    for where, what in ((hand, "the right controller"), (wrist, "the mirrored left wrist")):
        assert _changed(early, late, where, 6) > 0.3, f"{what} at 9 s"
        wall = _patch(early, where, 6)
        assert (wall.max(axis=1) > 110).all(), f"only the bright wall where {what} is at 9 s, at 1 s"
    # What does not move stays: the ceiling and the window above the table.
    x, y, w, _ = patient
    np.testing.assert_array_equal(early[y + 40 : y + 120, x : x + w], late[y + 40 : y + 120, x : x + w])

    # The third-person view: the right controller moved from one place to the other.
    orbit = console.OrbitCamera().camera(third[2] / third[3])
    for t in (1.0, 9.0):
        where = _pixel(orbit, right_at(t), third)
        assert _changed(early, late, where, 4) > 0.3, f"the right controller's place at {t} s changed"
    # The status lines differ (t = 1.0 against t = 9.0).
    bar = slice(status[1], status[1] + status[3])
    assert (early[bar] != late[bar]).any()


@pytest.mark.display
@pytest.mark.gl
def test_window_keys_play_pause_and_seek_and_f1_lists_them(data_dir: Path, tmp_path: Path) -> None:
    require_display()
    console = therapist_window_module()
    import glfw

    from gmi_vr.app.replay_run import REPLAY_KEY_HELP, show_replay_picture

    with (
        SessionStore.open(data_dir) as store,
        ReplaySource(store, 1) as source,
        therapist_window_here("gmi-vr replay keys", samples=1) as window,
    ):
        window.view.help_rows = REPLAY_KEY_HELP
        window.view.timeline_px = console.TIMELINE_PX  # as run_replay has it
        player = _player(store, source)
        handle = window.context.window

        def press(key: int, now_s: float) -> int:
            window._on_key(handle, key, 0, glfw.PRESS, 0)
            window._on_key(handle, key, 0, glfw.RELEASE, 0)
            show_replay_picture(window, player, now_s)
            return player.shown.frame.index

        step = round(SEEK_STEP_S * RATE_HZ)
        assert press(glfw.KEY_RIGHT, 0.0) == step
        assert press(glfw.KEY_RIGHT, 0.0) == 2 * step
        assert press(glfw.KEY_LEFT, 0.0) == step
        assert press(glfw.KEY_HOME, 1.0) == 0
        press(glfw.KEY_SPACE, 2.0)
        show_replay_picture(window, player, 3.0)
        assert player.clock.playing and player.shown.frame.index == 90
        press(glfw.KEY_SPACE, 4.0)
        show_replay_picture(window, player, 9.0)
        assert not player.clock.playing and player.shown.frame.index == 180
        window._on_key(handle, glfw.KEY_F1, 0, glfw.PRESS, 0)
        pixels = show_replay_picture(window, player, 9.0, capture=True)
        assert pixels is not None and window.view.show_help
        shot = tmp_path / "replay-window-help.png"
        Image.fromarray(pixels[:, :, :3]).save(shot)
        keep_picture(shot)
        frame_size = window.context.framebuffer_size()
        assert_help_overlay(pixels, console.letterbox(console.pane_layout(*frame_size, console.TIMELINE_PX)[0], 4 / 3), 130)
        assert_escape_closes(window)


@pytest.mark.display
def test_the_replay_window_has_the_settings_size_and_records_nothing(data_dir: Path, tmp_path: Path) -> None:
    """The replay runs on the session loop live sessions run on; it opens the therapist window
    at the settings' console size and leaves the store as it was (no session, no audit row)."""
    require_display()
    with SessionStore.open(data_dir) as store:
        before = ([s.id for s in store.list_sessions()], len(store.audit_trail()), len(store.motion_chunks(1)))
    settings = tmp_path / "settings.toml"
    settings.write_text(f'data_dir = "{tmp_path / "unused"}"\nconsole_width = 640\nconsole_height = 360\n')
    shot = tmp_path / "replay-small.png"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gmi_vr.app.replay_run import run_replay
        from gmi_vr.recording.store import SessionStore
        with SessionStore.open(Path({str(data_dir)!r})) as store:
            run_replay(store, 1, visible=False, max_frames=30, screenshot=Path({str(shot)!r}))
        """
    )
    run_window_script(script, window_env(GMI_VR_CONFIG=str(settings)), timeout_s=300)
    with Image.open(shot) as picture:
        assert picture.size == (640, 360)
    with SessionStore.open(data_dir) as store:
        after = ([s.id for s in store.list_sessions()], len(store.audit_trail()), len(store.motion_chunks(1)))
    assert after == before
