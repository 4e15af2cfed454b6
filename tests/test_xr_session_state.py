"""The session lifecycle decisions, without a runtime."""

from __future__ import annotations

from gmi_vr.xr.session_state import Action, SessionLifecycle, SessionState


def test_a_normal_session_begins_on_ready_and_ends_on_stopping_then_exits() -> None:
    life = SessionLifecycle()
    assert life.on_state_changed(SessionState.IDLE) is Action.NONE
    assert not life.should_run_frames
    assert life.on_state_changed(SessionState.READY) is Action.BEGIN_SESSION
    assert not life.should_run_frames  # not until xrBeginSession succeeded
    life.began()
    assert life.should_run_frames
    for state in (SessionState.SYNCHRONIZED, SessionState.VISIBLE):
        assert life.on_state_changed(state) is Action.NONE
        assert life.should_run_frames and not life.focused
    assert life.on_state_changed(SessionState.FOCUSED) is Action.NONE
    assert life.focused
    assert life.on_state_changed(SessionState.VISIBLE) is Action.NONE
    assert life.on_state_changed(SessionState.SYNCHRONIZED) is Action.NONE
    assert life.on_state_changed(SessionState.STOPPING) is Action.END_SESSION
    assert not life.should_run_frames
    life.ended()
    assert life.on_state_changed(SessionState.IDLE) is Action.NONE
    assert life.on_state_changed(SessionState.EXITING) is Action.EXIT_LOOP
    assert [s.name for s in life.history] == [
        "IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "VISIBLE", "SYNCHRONIZED",
        "STOPPING", "IDLE", "EXITING",
    ]  # fmt: skip


def test_loss_pending_means_the_session_is_lost_from_any_running_state() -> None:
    for running_state in (SessionState.SYNCHRONIZED, SessionState.VISIBLE, SessionState.FOCUSED):
        life = SessionLifecycle()
        life.on_state_changed(SessionState.READY)
        life.began()
        life.on_state_changed(running_state)
        assert life.on_state_changed(SessionState.LOSS_PENDING) is Action.SESSION_LOST
        assert not life.focused


def test_a_session_can_become_ready_again_after_stopping() -> None:
    life = SessionLifecycle()
    life.on_state_changed(SessionState.READY)
    life.began()
    life.on_state_changed(SessionState.STOPPING)
    life.ended()
    life.on_state_changed(SessionState.IDLE)
    assert life.on_state_changed(SessionState.READY) is Action.BEGIN_SESSION
    life.began()
    assert life.should_run_frames


def test_state_values_are_the_specifications() -> None:
    assert [s.value for s in SessionState] == list(range(9))
    assert SessionState.LOSS_PENDING == 7 and SessionState.EXITING == 8
