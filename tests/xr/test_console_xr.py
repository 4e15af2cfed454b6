"""The console starts and steers a headset session on the real runtime (Monado in
tools/xr-sandbox): ``gmi-vr run`` opens in free play, the therapist picks the patient in the
console's list and starts their session while the remote driver moves both controllers; a click at the smallest end of the console's hand-size slider shows the
mirrored left hand at 70 % of its size from the next frame (exactly: the size scales the
solved joints), while it goes on following the moving right controller; then a click on
the console's "real" button (through the window's GLFW callbacks and the panels) switches
the affected (left) arm from the mirror of the right controller to its own controller.

Bounds: the switch shows in the first frame stepped after the console hands the click on
(one frame: the click is applied before that frame's body solve); from then the displayed
hand heads for its own controller every frame, at the body's return speed (a displayed hand
never jumps: at most ``BodySettings.return_max_step_m`` = 2 cm a frame), and once caught up
it is drawn where that hand is tracked (the wrist joint: Monado's remote driver reports hand
tracking) within 5 mm (the solver's reach tolerance; the tracked pose arrives exact).

The therapist window's patient pane is the left eye as drawn into Monado's swapchain image
(copied while the image is acquired, stretched to the pane): every redraw but the first (which
sizes the pane) shows it, and one redraw's pane matches the image the runtime was handed
within 4 levels of 8 bits in every block mean of an 8 x 6 grid (bilinear stretching keeps a
block's mean to within a level or two; showing linear light as sRGB, or another frame's
picture while the hands move, is off by far more); likewise with the eyes drawn one after the
other into their own swapchains, as on a driver with neither multiview nor layered drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.cli import gmi_vr
from support.xr_run import headset_runtime, run_xr_app

pytestmark = pytest.mark.xr

APP = Path(__file__).parent.parent / "support" / "xr_console_app.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run_app(tmp_path_factory)


def _run_app(tmp_path_factory: pytest.TempPathFactory, *options: str) -> dict:
    headset_runtime()
    folder = tmp_path_factory.mktemp("console")
    data = folder / "data"
    added = gmi_vr(["patients", "add", "XR-C1", "--side", "left", "--part", "hand", "--by", "t"], data, timeout_s=60)
    assert added.returncode == 0, added.stderr
    result = run_xr_app(APP, ["--frames", "360", *options], folder, data, timeout_s=300)
    result["data"] = data
    return result


def _distance(a: list[float], b: list[float]) -> float:
    return float(np.linalg.norm(np.array(a) - np.array(b)))


def _to_own(step: dict) -> float:
    """How far the displayed left hand is from where the left hand is tracked: its wrist at
    the tracked wrist joint when the runtime reports hand tracking (it does here), else its
    grip at the controller's grip."""
    if step["left_wrist_joint"] is not None:
        return _distance(step["shown_left_wrist"], step["left_wrist_joint"])
    return _distance(step["shown_left"], step["left_grip"])


def _session_actions(run: dict) -> list[list]:
    """The console's actions in the patient's session, after it was started from the list
    (picking the patient asks for their progress: "review")."""
    actions = run["actions"]
    assert [(name, value) for _, name, value in actions[:2]] == [("review", "XR-C1"), ("start", "XR-C1")], actions
    return actions[2:]


def test_the_session_started_from_the_console_is_the_patients_and_is_recorded(run: dict) -> None:
    from gmi_vr.recording.store import SessionStore

    assert run["steps"] and all(s["focused"] for s in run["steps"][-10:]), "the session ran in focus"
    with SessionStore.open(run["data"]) as store:
        (session,) = store.list_sessions("XR-C1")
        started = [a for a in store.audit_trail("XR-C1") if a.action == "console.start"]
    assert [(a.actor, a.session_id, a.details) for a in started] == [("dr.xr", session.id, {"via": "console"})]
    assert session.source == "openxr" and session.status != "running"


def test_frames_go_on_to_the_runtime_while_the_session_opens_its_store(run: dict) -> None:
    """The session's store work runs off the render thread: while its store opened,
    slowed by 0.5 s on purpose, frames kept being submitted to the runtime (one waiting
    render thread submits none), and the session then ran in focus."""
    (submitted,) = run["submitted_while_opening"]
    assert submitted >= 1, submitted
    assert run["steps"][0]["focused"] and all(s["focused"] for s in run["steps"]), "in focus throughout"


def test_the_hand_size_from_the_console_shows_next_frame_while_the_mirror_follows_the_controller(
        run: dict) -> None:
    steps, actions = run["steps"], _session_actions(run)
    assert [name for _, name, _ in actions] == ["hand_scale", "limb_mode"] and actions[0][2] == 0.7, actions
    at = actions[0][0]  # steps[at] is the first frame stepped after the slider was let go
    assert all(abs(s["hand_size"] - 1.0) < 1e-6 for s in steps[:at]), "life size until then"
    smaller = steps[at : actions[1][0]]
    assert smaller and all(abs(s["hand_size"] - 0.7) < 1e-6 for s in smaller), "70 % from the next frame"
    assert all(abs(s["hand_size"] - 0.7) < 1e-6 for s in steps[actions[1][0] :]), "and in the real arm too"
    # Meanwhile the mirrored hand went on following the moving right controller.
    moving = [s for s in smaller if s["mode"] == "mirror" and s["right_valid"]]
    assert len(moving) >= 20
    assert _distance(moving[0]["right_grip"], moving[-1]["right_grip"]) > 0.01, "the controller moved"
    assert _distance(moving[0]["shown_left"], moving[-1]["shown_left"]) > 0.01, "and the mirrored hand with it"


def test_real_from_the_console_makes_the_affected_arm_follow_its_own_controller(run: dict) -> None:
    steps, actions = run["steps"], _session_actions(run)
    assert [name for _, name, _ in actions] == ["hand_scale", "limb_mode"] and actions[1][2] == "real", actions
    at = actions[1][0]  # steps[at] is the first frame stepped after the click was handed on
    before, after = steps[at - 1], steps[at]
    assert (before["mode"], after["mode"]) == ("mirror", "real")
    assert {s["mode"] for s in steps[at:]} == {"real"}, "it stays real for the rest of the session"
    # Mirrored, the left arm ignored its own controller (the two are far apart here).
    mirrored = [s for s in steps[at - 20 : at] if s["left_valid"] and s["right_valid"]]
    assert mirrored and all(_to_own(s) > 0.2 for s in mirrored)
    # From the next frame it heads for its own controller, every frame until it is there ...
    to_own = [_to_own(s) for s in steps[at - 1 :]]
    arrived = next((k for k, d in enumerate(to_own) if d <= 0.005), None)
    assert arrived is not None and 1 <= arrived <= 40, " ".join(f"{d:.3f}" for d in to_own[:80])
    assert all(b < a for a, b in zip(to_own[:arrived], to_own[1 : arrived + 1], strict=True))
    # ... and then follows it as it moves: drawn at its grip on every later frame.
    following = [s for s in steps[at - 1 + arrived :] if s["left_valid"]]
    assert len(following) >= 60
    assert max(_to_own(s) for s in following) <= 0.005
    travelled = _distance(following[0]["left_grip"], following[-1]["left_grip"])
    assert travelled > 0.01, "the controller moved while the arm followed it"


def test_the_windows_patient_pane_is_the_left_eye_the_runtime_was_handed(run: dict) -> None:
    assert run["panes"]["layer"] == 0, "both eyes in one pass (multiview here): layer 0 of one swapchain"
    _check_panes(run["panes"])


def test_with_the_eyes_drawn_one_after_the_other_the_pane_is_the_left_eyes_own_image(
        tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    panes = _run_app(tmp_path_factory, "--two-pass")["panes"]
    assert panes["layer"] is None, "the left eye's own swapchain image"
    _check_panes(panes)


def _check_panes(panes: dict) -> None:
    assert len(panes["from_eye"]) > 20 and all(panes["from_eye"][1:]), panes["from_eye"]
    eye, pane = np.array(panes["eye"]), np.array(panes["pane"])
    assert eye.shape == pane.shape == (6, 8, 3)
    # The lower two thirds: the pane's label covers part of its top row of blocks.
    assert np.abs(eye[2:] - pane[2:]).max() <= 4, np.abs(eye - pane).max(axis=-1).round(1).tolist()
    assert eye[2:].std() > 5, "a picture of the room, not a plain colour"


def test_the_switch_is_audited_and_recorded_in_the_session(run: dict) -> None:
    from gmi_vr.recording.store import SessionStore

    with SessionStore.open(run["data"]) as store:
        (session,) = store.list_sessions("XR-C1")
        rows = [a for a in store.audit_trail("XR-C1")
                if a.action.startswith("console.") and a.action not in ("console.start", "console.review")]
        store_events = store.events(session.id)
        changes = [e for e in store_events if e.kind == "body.mode" and e.data.get("by") == "therapist"]
    assert [(a.actor, a.action, a.session_id) for a in rows] == [("dr.xr", "console.hand_scale", session.id),
                                                                 ("dr.xr", "console.limb_mode", session.id)]
    assert rows[0].details["scale"] == 0.7 and rows[0].details["was"] == 1.0
    assert rows[1].details["mode"] == "real" and rows[1].details["was"] == "mirror"
    assert [c.data["mode"] for c in changes] == ["real"]
    sizes = [e.data for e in store_events if e.kind == "body.hand_scale"]
    assert sizes == [{"scale": 0.7, "by": "therapist"}]
    assert session.source == "openxr" and run["reports"], "the session was saved and reported"
