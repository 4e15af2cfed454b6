"""A study's visual-feedback conditions (``body.feedback``), end to end on the simulator: a
synthetic motion (the healthy right hand circling) goes through the real pipeline, body
solver and session runner of a research program; the displayed affected (left) hand is
checked against the healthy hand's reflection frame by frame. Then who may set conditions
(research programs only, researcher or admin accounts), the audit trail, the recorded block
params and the CSV export, on a real SQLite store through the ``gmi-vr`` command, and one
render that shows a hidden limb is not drawn.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import body_frames
import numpy as np
import pytest
from support.station import gmi, sign_in, use_station

from gmi_vr import cli
from gmi_vr.app.console import event_words
from gmi_vr.app.headset import status_line
from gmi_vr.app.patients import add_patient
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.replay_run import replay_body
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body import (
    BodySettings,
    BodyState,
    FeedbackCondition,
    FeedbackKind,
    LimbMode,
    solve_body,
)
from gmi_vr.body.skeleton import side_joint
from gmi_vr.core.types import Side, TrackingFrame
from gmi_vr.geometry.reflect import reflect_pose7
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError
from gmi_vr.therapy.runner import SessionRunner
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 60
FRAME_S = 1.0 / RATE_HZ
#: The healthy right hand circles at about 0.3 m/s: 5 mm a frame, 9 cm in 300 ms, so a hand
#: shown a frame early or late, or live, is told apart from the right one by far more than
#: the 1 mm the checks allow.
CENTRE, RADIUS_M, PERIOD_S = np.array([0.20, 0.95, -0.36]), 0.08, 1.6


def circling_motion(duration_s: float) -> str:
    """A motion file: head still, the right hand circling in a frontal plane."""
    lines = [json.dumps({"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ})]
    for k in range(int(round(duration_s / 0.05)) + 1):
        t = k * 0.05
        angle = 2 * math.pi * t / PERIOD_S
        position = CENTRE + RADIUS_M * np.array([math.cos(angle), math.sin(angle), 0.0])
        key: dict[str, Any] = {"t": round(t, 4), "right": {"position": [round(float(v), 6) for v in position],
                                                          "yaw_pitch_roll_deg": [0, -10, 0]}}
        if k == 0:
            key["head"] = {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -15, 0]}
        lines.append(json.dumps(key))
    return "\n".join(lines)


def research_program(blocks: list[str], feedback: list[dict[str, Any]], look_s: float = 2.0) -> Program:
    """A research program whose sessions run ``blocks`` straight away (no opening rating)."""
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "r.one", "study", "2026-12-05T12:00:00", research=True, stage=3,
        **{"session.blocks": blocks, "session.rating_at_start": False, "mirror.look_s": look_s},
        feedback=feedback,
    )  # fmt: skip
    return program


def run(program: Program | None, duration_s: float) -> tuple[SessionPipeline, list[tuple[TrackingFrame, FrameOutput]]]:
    runner = SessionRunner(program, seed=7) if program is not None else None
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=runner)
    with ScriptedFrameSource(parse_motion(circling_motion(duration_s))) as source:
        steps = [(frame, pipeline.step(frame)) for frame in source.frames()]
    return pipeline, steps


def healthy_at(steps: list[tuple[TrackingFrame, FrameOutput]], time_s: float) -> np.ndarray:
    """The tracked healthy (right) grip position at ``time_s``, linear between frames."""
    times = np.array([frame.time_s for frame, _ in steps])
    positions = np.array([frame.right.grip.position for frame, _ in steps])
    return np.array([np.interp(time_s, times, positions[:, axis]) for axis in range(3)])


def reflected(pipeline: SessionPipeline, position: np.ndarray) -> np.ndarray:
    plane = pipeline.calibration.midline_plane()
    return reflect_pose7(np.concatenate([position, [0.0, 0.0, 0.0, 1.0]]), plane)[:3]


def feedback_events(steps: list[tuple[TrackingFrame, FrameOutput]]) -> list[Any]:
    return [e for _, output in steps for e in output.events if e.kind == "body.feedback"]


def test_delayed_block_shows_the_affected_hand_where_the_reflection_was_the_delay_earlier() -> None:
    program = research_program(["mirror"], [{"block": 1, "feedback": "delayed", "feedback_delay_ms": 300}],
                               look_s=10.0)  # fmt: skip
    pipeline, steps = run(program, 3.0)
    (start,) = feedback_events(steps)
    assert start.data == {"feedback": "delayed", "feedback_delay_ms": 300.0, "block_index": 0}
    checked = 0
    for frame, output in steps:
        if frame.time_s < start.time_s + 0.5:  # the condition applies from the next frame, eased in
            continue
        shown, _ = output.body.displayed(Side.LEFT)
        earlier = reflected(pipeline, healthy_at(steps, frame.time_s - 0.300))
        live = reflected(pipeline, np.asarray(frame.right.grip.position))
        # Exact to well within one frame: a frame's movement (5 mm) would fail this.
        assert np.linalg.norm(shown.position - earlier) < 0.001, frame.time_s
        assert np.linalg.norm(shown.position - live) > 0.05  # not the live mirror
        # The tasks measure the live hand, and the healthy hand is never delayed.
        measured, valid = output.body.measured(Side.LEFT)
        assert valid and np.linalg.norm(measured.position - live) < 0.001
        assert np.linalg.norm(output.body.displayed_right.position - frame.right.grip.position) < 0.001
        assert output.body.feedback == "delayed" and output.body.feedback_delay_ms == 300.0
        checked += 1
    assert checked > 100
    line = status_line("simulator", None, steps[-1][1].body)
    assert "feedback: delayed 300 ms" in line  # the therapist's window says so, and its event log
    assert event_words(start) == "visual feedback: delayed 300 ms"


def test_a_live_mirror_block_of_a_research_program_shows_the_same_frames_reflection() -> None:
    program = research_program(["mirror"], [])
    pipeline, steps = run(program, 1.0)
    assert [e.data["feedback"] for e in feedback_events(steps)] == ["mirror"]
    for frame, output in steps[5:]:
        shown, _ = output.body.displayed(Side.LEFT)
        assert np.linalg.norm(shown.position - reflected(pipeline, np.asarray(frame.right.grip.position))) < 0.001
    assert "feedback" not in status_line("simulator", None, steps[-1][1].body)


def test_in_real_movement_a_delayed_condition_shows_the_affected_limbs_own_tracking_the_delay_earlier() -> None:
    # Graded movement: the affected limb moves by its own tracking; a delay shows that late.
    cal = body_frames.calibration()
    condition = FeedbackCondition(FeedbackKind.DELAYED, 200.0, since_s=0.0)
    settings, state = BodySettings(mode=LimbMode.REAL, feedback=condition), BodyState()
    poses, from_live = [], []
    for index in range(180):
        t = index / body_frames.RATE_HZ
        grips = {side: body_frames.grip_in_front(cal, side, 2.0 * t) for side in (Side.LEFT, Side.RIGHT)}
        frame = body_frames.frame(index, body_frames.upright_head(cal), body_frames.held(grips[Side.LEFT]),
                                  body_frames.held(grips[Side.RIGHT]))  # fmt: skip
        body = solve_body(frame, cal, settings, state)
        poses.append(grips[Side.LEFT].position)
        if t < 0.5:
            continue
        shown, _ = body.displayed(Side.LEFT)
        earlier = np.array([np.interp(t - 0.2, np.arange(len(poses)) / body_frames.RATE_HZ,
                                      np.array(poses)[:, axis]) for axis in range(3)])  # fmt: skip
        assert np.linalg.norm(shown.position - earlier) < 0.001
        from_live.append(float(np.linalg.norm(shown.position - grips[Side.LEFT].position)))
        assert np.linalg.norm(body.measured(Side.LEFT)[0].position - grips[Side.LEFT].position) < 0.001
        assert np.linalg.norm(body.displayed_right.position - grips[Side.RIGHT].position) < 0.001
    assert len(from_live) > 100 and np.median(from_live) > 0.02  # not the live limb


def test_sham_block_replays_the_sessions_earlier_healthy_movement_reflected() -> None:
    # A live block of 2 s, then a sham block: it replays the first block's movement from its start.
    program = research_program(["mirror", "mirror"], [{"block": 2, "feedback": "sham"}])
    pipeline, steps = run(program, 5.0)
    events = feedback_events(steps)
    # Each block's condition, and back to the live picture at each block's end.
    assert [(e.data["feedback"], e.data["block_index"]) for e in events[:3]] == [
        ("mirror", 0), ("mirror", None), ("sham", 1)]
    sham = events[2]
    oldest, since = steps[0][0].time_s, sham.time_s
    replayed_frames = 0
    for frame, output in steps:
        if frame.time_s < since + 0.3 or output.body.feedback != "sham":  # eased in; the sham block only
            continue
        shown, _ = output.body.displayed(Side.LEFT)
        source_s = oldest + (frame.time_s - since) % (since - oldest)
        assert np.linalg.norm(shown.position - reflected(pipeline, healthy_at(steps, source_s))) < 0.001
        replayed_frames += 1
    assert replayed_frames > 60
    # Replayed from its start, with a 2 s source on a 1.6 s circle: not the live mirror.
    frame, output = next((f, o) for f, o in steps if f.time_s > since + 1.0)
    live = reflected(pipeline, np.asarray(frame.right.grip.position))
    assert np.linalg.norm(output.body.displayed(Side.LEFT)[0].position - live) > 0.02


def test_sham_with_no_earlier_movement_rests_the_limb_instead_of_mirroring_it() -> None:
    program = research_program(["mirror"], [{"block": 1, "feedback": "sham"}])
    pipeline, steps = run(program, 2.0)
    shown = np.array([output.body.displayed(Side.LEFT)[0].position for frame, output in steps[30:]])
    assert np.ptp(shown, axis=0).max() < 1e-6  # held still at rest while the healthy hand circles
    live = reflected(pipeline, np.asarray(steps[-1][0].right.grip.position))
    assert np.linalg.norm(shown[-1] - live) > 0.1


def test_hidden_block_draws_no_affected_arm_and_the_task_still_measures_the_live_hand() -> None:
    program = research_program(["mirror"], [{"block": 1, "feedback": "hidden"}])
    pipeline, steps = run(program, 1.0)
    frame, output = steps[-1]
    body = output.body
    assert body.feedback == "hidden"
    assert not body.displayed_left_valid and body.displayed_right_valid
    for bone in ("LowerArm", "Hand", "IndexProximal"):  # collapsed: zero scale, so no skin
        assert np.allclose(body.world_from_joint[side_joint(Side.LEFT, bone), :3, :3], 0.0)
    for bone in ("LowerArm", "Hand"):  # the healthy arm is drawn
        assert abs(np.linalg.det(body.world_from_joint[side_joint(Side.RIGHT, bone), :3, :3])) > 0.5
    measured, valid = body.measured(Side.LEFT)
    assert valid and np.linalg.norm(measured.position - reflected(pipeline, np.asarray(frame.right.grip.position))) < 0.001
    assert "feedback: hidden" in status_line("simulator", None, body)

    def collapsed_bones(output: FrameOutput) -> int:
        """Bones of the drawn avatar with no extent (their skin drawn at a point)."""
        palette = output.draw.skinned[0].palette
        return int(np.all(np.abs(palette[:, :3, :3]) < 1e-12, axis=(1, 2)).sum())

    # The patient's own head is folded away in either; under "hidden" the forearm, hand and
    # fingers of the draw list's avatar too.
    live = collapsed_bones(run(research_program(["mirror"], []), 1.0)[1][-1][1])
    assert collapsed_bones(output) >= live + 15


def test_the_patients_view_never_announces_the_condition() -> None:
    for feedback in ({"block": 1, "feedback": "delayed", "feedback_delay_ms": 500}, {"block": 1, "feedback": "sham"},
                     {"block": 1, "feedback": "hidden"}):  # fmt: skip
        _, steps = run(research_program(["mirror"], [feedback]), 1.0)
        words = " ".join(
            [text.text for _, output in steps for text in output.draw.texts]
            + [str(e.data.get("text", "")) for _, output in steps for e in output.events if e.kind == "cue.audio"]
        ).lower()
        assert words  # the block's instruction is shown and spoken ...
        for word in ("delay", "sham", "hidden", "feedback", "condition", "replay"):
            assert word not in words  # ... and says nothing of the condition


def test_clinical_programs_refuse_conditions_and_values_out_of_range_are_refused() -> None:
    clinical = Program.default(Side.LEFT, BodyPart.HAND)
    with pytest.raises(ProgramError, match=r"^Visual-feedback conditions are for research programs only; .*\.$"):
        clinical.override("t", "try", "now", **{"session.blocks": ["mirror"]},
                          feedback=[{"block": 1, "feedback": "hidden"}])  # fmt: skip
    research = research_program(["laterality", "mirror"], [])
    for feedback, message in (
        ({"block": 2, "feedback": "delayed", "feedback_delay_ms": 1500}, "The feedback delay is 1500 ms; set 0 to 1000 ms."),
        ({"block": 2, "feedback": "delayed", "feedback_delay_ms": -10}, "The feedback delay is -10 ms; set 0 to 1000 ms."),
        ({"block": 2, "feedback": "blurred"}, "Visual feedback 'blurred' is unknown; use one of mirror, delayed, sham, hidden."),
        ({"block": 2, "feedback": "sham", "feedback_delay_ms": 100},
         "A feedback delay applies only to the delayed condition; set it to 0 for sham."),
        ({"block": 1, "feedback": "hidden"},
         "Block 1 is a laterality block; visual-feedback conditions apply to mirror and graded_movement blocks only."),
        ({"block": 3, "feedback": "hidden"}, "Block 3 does not exist; the sessions have 2 blocks (laterality, mirror)."),
    ):  # fmt: skip
        with pytest.raises(ProgramError) as refused:
            research.override("r", "study", "now", feedback=[feedback])
        assert str(refused.value) == message
    # The edges of the range are allowed.
    for delay in (0, 1000):
        research.override("r", "study", "now", feedback=[{"block": 2, "feedback": "delayed", "feedback_delay_ms": delay}])
    # A research program with conditions cannot be turned clinical without clearing them.
    with_condition = research_program(["mirror"], [{"block": 1, "feedback": "hidden"}])
    with pytest.raises(ProgramError, match="research programs only"):
        with_condition.override("r", "end of study", "now", research=False)


# --- the gmi-vr command, a real store ------------------------------------------------------------------

PASSWORD = "correct horse"
SET_FEEDBACK = 'feedback=[{"block": 2, "feedback": "delayed", "feedback_delay_ms": 250}, {"block": 3, "feedback": "hidden"}]'


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_station(tmp_path, monkeypatch)


def program_of(patient_id: str) -> dict[str, Any]:
    store = SessionStore.open()
    try:
        program = store.patient(patient_id).program
        assert program is not None
        return dict(program)
    finally:
        store.close()


def test_without_accounts_only_an_explicit_research_flag_allows_conditions_and_each_change_is_audited(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gmi(monkeypatch, "patients", "add", "P1", "--side", "left", "--part", "hand", "--by", "t.one") == 0
    blocks = 'session.blocks=["laterality", "mirror", "mirror"]'
    assert gmi(monkeypatch, "patients", "edit", "P1", "--set", blocks, "--reason", "plan", "--by", "t.one") == 0
    before = program_of("P1")
    capsys.readouterr()
    # A clinical program refuses, in one sentence, and keeps what it had.
    assert gmi(monkeypatch, "patients", "edit", "P1", "--set", SET_FEEDBACK, "--reason", "study", "--by", "r.one") == 9
    err = capsys.readouterr().err.strip()
    assert err.startswith("gmi-vr: Visual-feedback conditions are for research programs only;") and "\n" not in err
    assert program_of("P1") == before
    # With the explicit flag, anyone may on a store without accounts.
    assert gmi(monkeypatch, "patients", "edit", "P1", "--set", "research=true", "--reason", "study A", "--by", "r.one") == 0
    assert gmi(monkeypatch, "patients", "edit", "P1", "--set", SET_FEEDBACK, "--reason", "study A arms", "--by", "r.one") == 0
    program = program_of("P1")
    assert program["research"] is True
    assert program["feedback"] == [{"block": 2, "feedback": "delayed", "feedback_delay_ms": 250.0},
                                   {"block": 3, "feedback": "hidden", "feedback_delay_ms": 0.0}]  # fmt: skip
    # Out of range: one sentence, nothing changed.
    capsys.readouterr()
    too_long = 'feedback=[{"block": 2, "feedback": "delayed", "feedback_delay_ms": 5000}]'
    assert gmi(monkeypatch, "patients", "edit", "P1", "--set", too_long, "--reason", "x", "--by", "r.one") == 9
    assert capsys.readouterr().err.strip() == "gmi-vr: The feedback delay is 5000 ms; set 0 to 1000 ms."
    assert program_of("P1") == program

    store = SessionStore.open()
    try:
        changes = [(a.actor, a.details["new"]) for a in store.audit_trail("P1") if a.action == "program.override"]
    finally:
        store.close()
    assert ("r.one", {"research": True}) in changes
    assert ("r.one", {"feedback": program["feedback"]}) in changes
    assert len(changes) == 3  # the plan, the flag, the conditions: the refused ones left no entry


def test_with_accounts_only_a_researcher_or_admin_changes_research_settings(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gmi(monkeypatch, "users", "add", "boss", "--role", "admin", "--password-stdin",
               stdin=PASSWORD + "\n") == 0  # fmt: skip
    sign_in(monkeypatch, capsys, "boss", PASSWORD)
    for name, role in (("t.one", "therapist"), ("r.one", "researcher")):
        assert gmi(monkeypatch, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert gmi(monkeypatch, "patients", "add", "P2", "--side", "left", "--part", "hand") == 0
    assert gmi(monkeypatch, "patients", "edit", "P2", "--set", 'session.blocks=["laterality", "mirror", "mirror"]',
               "--reason", "plan") == 0  # fmt: skip

    sign_in(monkeypatch, capsys, "t.one", PASSWORD)
    capsys.readouterr()
    assert gmi(monkeypatch, "patients", "edit", "P2", "--set", "research=true", "--reason", "study") == 11
    err = capsys.readouterr().err.strip()
    assert err == ("gmi-vr: Account t.one is a therapist and may not change a program's research settings; "
                   "ask someone with the admin or researcher role.")  # fmt: skip
    assert program_of("P2")["research"] is False

    sign_in(monkeypatch, capsys, "r.one", PASSWORD)
    assert gmi(monkeypatch, "patients", "edit", "P2", "--set", "research=true", "--reason", "study B") == 0
    assert gmi(monkeypatch, "patients", "edit", "P2", "--set", SET_FEEDBACK, "--reason", "study B arms") == 0
    # A researcher changes no clinical setting, not even beside a research one.
    capsys.readouterr()
    assert gmi(monkeypatch, "patients", "edit", "P2", "--set", "research=true", "--set", "stage=2",
               "--reason", "x") == 11  # fmt: skip
    assert "may not change records" in capsys.readouterr().err
    assert program_of("P2")["stage"] == 1

    store = SessionStore.open()
    try:
        actors = [(a.actor, sorted(a.details["new"])) for a in store.audit_trail("P2") if a.action == "program.override"]
    finally:
        store.close()
    assert actors[-2:] == [("r.one", ["research"]), ("r.one", ["feedback"])]
    # Show names who set each setting: the researcher's, not "the therapist".
    capsys.readouterr()
    assert gmi(monkeypatch, "patients", "show", "P2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  research = true  [set by r.one (researcher)]" in lines
    assert any(line.startswith("  feedback = ") and line.endswith("[set by r.one (researcher)]") for line in lines)
    assert '  session.blocks = ["laterality", "mirror", "mirror"]  [set by boss (admin)]' in lines


def test_a_recorded_session_keeps_each_blocks_condition_in_its_params_events_and_csv_export(
    station: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = SessionStore.open(create=True)
    add_patient(store, "P3", "left", "hand", therapist="t.one")
    store.set_program("P3", research_program(
        ["mirror", "mirror", "mirror"],
        [{"block": 2, "feedback": "delayed", "feedback_delay_ms": 250}, {"block": 3, "feedback": "hidden"}],
        look_s=0.5,
    ).to_dict())  # fmt: skip
    store.close()
    with session_pipeline("P3", source="sim", seed=3) as pipeline, \
            ScriptedFrameSource(parse_motion(circling_motion(2.5))) as source:  # fmt: skip
        shown = {output.body.feedback for output in (pipeline.step(frame) for frame in source.frames())}
        pipeline.ended_by = "motion_ended"
    assert shown == {"mirror", "delayed", "hidden"}

    store = SessionStore.open()
    try:
        (session,) = store.list_sessions("P3")
        blocks = store.blocks(session.id)
        assert [(b.stage, b.params["feedback"], b.params["feedback_delay_ms"]) for b in blocks] == [
            ("mirror_look", "mirror", 0.0), ("mirror_look", "delayed", 250.0), ("mirror_look", "hidden", 0.0)]
        recorded = [e for e in store.events(session.id) if e.kind == "body.feedback"]
        assert [(e.data["feedback"], e.data["block_index"]) for e in recorded] == [
            ("mirror", 0), ("mirror", None), ("delayed", 1), ("mirror", None), ("hidden", 2), ("mirror", None)]
        # A replay of the session shows each block's condition again.
        replayed = replay_body(store, session.id)
        delayed_at, hidden_at = recorded[2].time_s, recorded[4].time_s
        assert replayed.settings_at(delayed_at - 0.01).feedback.kind is FeedbackKind.MIRROR
        assert replayed.settings_at(delayed_at + 0.01).feedback == FeedbackCondition(FeedbackKind.DELAYED, 250.0, delayed_at)
        assert replayed.settings_at(hidden_at + 0.01).feedback.kind is FeedbackKind.HIDDEN
    finally:
        store.close()
    assert cli.main(["export", str(session.id), "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    (blocks_csv,) = (tmp_path / "csv").glob("*_blocks.csv")
    with blocks_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["feedback"], r["feedback_delay_ms"]) for r in rows] == [("mirror", "0.0"), ("delayed", "250.0"),
                                                                       ("hidden", "0.0")]  # fmt: skip


@pytest.mark.gl
def test_a_hidden_limb_is_not_drawn_in_the_patients_view(gl_context: Any, tmp_path: Path) -> None:
    from PIL import Image
    from render_scenes import left_palm_pixel

    from gmi_vr.geometry.camera import Camera
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.render.target import RenderTarget
    from gmi_vr.scene.draw import DrawList

    gl_context.make_current()
    _, live = run(research_program(["mirror"], []), 1.0)
    _, hidden = run(research_program(["mirror"], [{"block": 1, "feedback": "hidden"}]), 1.0)
    frame, live_output = live[-1]
    hidden_output = hidden[-1][1]
    renderer = Renderer()
    eye = RenderTarget(320, 240)
    try:
        camera = Camera.from_view(frame.views[0])
        pictures = {}
        room = live_output.draw
        for name, draw_list in (("room", DrawList(room.meshes, (), room.texts, room.clear_color, room.fade)),
                                ("live", live_output.draw), ("hidden", hidden_output.draw)):  # fmt: skip
            renderer.draw(draw_list, camera, eye.framebuffer, eye.width, eye.height)
            pictures[name] = eye.read_rgba()[:, :, :3].astype(int)
        Image.fromarray(pictures["hidden"].astype(np.uint8)).save(tmp_path / "hidden-left-eye.png")
        row, column = left_palm_pixel(live_output.body.world_from_joint, camera, eye.width, eye.height)
        around = (slice(max(0, row - 3), row + 4), slice(max(0, column - 3), column + 4))
        # The live mirrored hand shows there; under "hidden" only the room does.
        assert np.abs(pictures["live"][around] - pictures["room"][around]).sum(axis=2).max() > 30
        assert np.abs(pictures["hidden"][around] - pictures["room"][around]).sum(axis=2).max() <= 3
        # The healthy arm is still drawn.
        assert np.any(pictures["hidden"] != pictures["room"])
    finally:
        eye.release()
        renderer.release()
