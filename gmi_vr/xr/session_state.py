"""The OpenXR session lifecycle as a small pure state machine (no runtime calls here).

The runtime drives the session through ``XrSessionState`` changes; for each one the
application must do one thing (OpenXR 1.1 specification, "Session Lifecycle"; hello_xr's
``HandleSessionStateChangedEvent``):

    IDLE          wait (no frame loop)
    READY         xrBeginSession, then run the frame loop
    SYNCHRONIZED  run the frame loop (frames are not shown yet)
    VISIBLE       run the frame loop (shown, no input focus)
    FOCUSED       run the frame loop with input
    STOPPING      xrEndSession (after the last frame), then wait
    LOSS_PENDING  the session is lost: tear it down (save first), then retry or exit
    EXITING       the runtime wants the application gone: leave the loop, destroy the session

The numeric values are the specification's ``XrSessionState`` values, so this module needs
no OpenXR binding and its transitions are tested without a runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum


class SessionState(IntEnum):
    UNKNOWN = 0
    IDLE = 1
    READY = 2
    SYNCHRONIZED = 3
    VISIBLE = 4
    FOCUSED = 5
    STOPPING = 6
    LOSS_PENDING = 7
    EXITING = 8


class Action(Enum):
    """What the frame loop must do after a state change."""

    NONE = "none"
    BEGIN_SESSION = "begin session"
    END_SESSION = "end session"
    EXIT_LOOP = "exit loop"
    SESSION_LOST = "session lost"


#: States in which the session is running and frames must be waited, begun and ended.
RUNNING_STATES = frozenset(
    {SessionState.READY, SessionState.SYNCHRONIZED, SessionState.VISIBLE, SessionState.FOCUSED}
)


@dataclass
class SessionLifecycle:
    """Tracks the current state and whether the session is running (between a successful
    xrBeginSession and xrEndSession). ``history`` keeps every state seen, in order."""

    state: SessionState = SessionState.UNKNOWN
    running: bool = False
    history: list[SessionState] = field(default_factory=list)

    def on_state_changed(self, new_state: int) -> Action:
        """Record ``new_state`` and return what the loop must do next."""
        state = SessionState(new_state)
        self.state = state
        self.history.append(state)
        if state is SessionState.READY:
            return Action.BEGIN_SESSION
        if state is SessionState.STOPPING:
            return Action.END_SESSION
        if state is SessionState.EXITING:
            return Action.EXIT_LOOP
        if state is SessionState.LOSS_PENDING:
            return Action.SESSION_LOST
        return Action.NONE

    def began(self) -> None:
        """xrBeginSession succeeded."""
        self.running = True

    def ended(self) -> None:
        """xrEndSession succeeded (or the session is gone)."""
        self.running = False

    @property
    def should_run_frames(self) -> bool:
        """True while frames must be waited, begun and ended."""
        return self.running and self.state in RUNNING_STATES

    @property
    def focused(self) -> bool:
        return self.state is SessionState.FOCUSED
