"""What the console's panels show, rebuilt from records (replay's read-only panels) and
collected live, and the limb mode a console click sets on the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime

from gmi_vr.app.console import replay_panels
from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.body import BodySettings, LimbMode
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.recording.rows import StoredRating, StoredTrial


def test_replay_panels_show_the_session_as_it_stood_at_the_shown_time() -> None:
    events = [
        Event(100.0, "session.start", {"plan": ["rating:start", "block:laterality"]}),
        Event(101.0, "pain.rating", {"value": 3}),
        Event(102.0, "task.start", {"kind": "laterality"}),
        Event(110.0, "body.mode", {"mode": "real", "blend": 0.0, "by": "therapist"}),
        Event(120.0, "safety.stop", {}),
    ]
    trials = [StoredTrial(onset_s=103.0 + k, side=side, correct=k != 1, reaction_time_s=0.5 + k / 10,
                          measures={"block_index": 0})
              for k, side in enumerate(["left", "left", "right"])]  # fmt: skip
    rating = StoredRating(value=3, phase="before", source="patient", recorded_at=datetime.now(UTC), time_s=101.0)
    panel_at = replay_panels("replay", 100.0, events, trials, [rating])

    early = panel_at(104.5)  # two trials shown, the stop still to come
    assert early.read_only and early.plan == ("rating:start", "block:laterality") and early.current == "laterality"
    assert [words for _, words in early.events] == ["session started", "pain rating 3", "task started: laterality"]
    assert early.rt_ms == {"left": (500.0, 600.0), "right": ()}
    assert early.accuracy == {"left": (1.0, 0.5), "right": ()}
    assert early.pain == ((1.0, 3),) and early.session_time_s == 4.5
    late = panel_at(130.0)
    assert [words for _, words in late.events][-2:] == ["limb mode: real (therapist)", "stop: calm scene"]
    assert late.rt_ms["right"] == (700.0,)


def test_a_limb_mode_set_at_the_console_is_recorded_and_takes_the_next_step() -> None:
    from test_therapy_session import Run, program

    run = Run(program(**{"session.rating_at_start": False}))
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=run.runner)
    first = pipeline.step(run.script.frame())
    assert first.body.mode is LimbMode.MIRROR and not pipeline.limb_held_still
    pipeline.set_limb_mode(LimbMode.BLEND, 0.4, run.script.next_time)
    output = pipeline.step(run.script.frame())
    assert (output.body.mode, round(output.body.blend, 3)) == (LimbMode.BLEND, 0.4)
    changes = [e for e in output.events if e.kind == "body.mode"]
    assert changes[0].data == {"mode": "blend", "blend": 0.4, "by": "therapist"}
    assert pipeline.step(run.script.frame()).body.mode is LimbMode.BLEND, "it stays"


def test_no_limb_mode_is_taken_while_the_session_holds_the_limb_still() -> None:
    from test_therapy_session import Run, program

    from gmi_vr.app.controls import TherapistControls

    run = Run(program(**{"session.rating_at_start": False}))
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=run.runner)
    audited: list[str] = []
    controls = TherapistControls(run.runner, pipeline, lambda action, details: audited.append(action))
    pipeline.step(run.script.frame())
    assert not pipeline.limb_held_still
    controls.act("stop", None, run.script.next_time)  # the calm scene: the limb rests
    for _ in range(5):
        pipeline.step(run.script.frame())
    assert pipeline.limb_held_still
    controls.act("limb_mode", "real", run.script.next_time)
    output = pipeline.step(run.script.frame())
    assert output.body.mode is LimbMode.STILL and "held still" in controls.message
    assert audited == ["console.stop"] and not [e for e in output.events if e.kind == "body.mode"]
