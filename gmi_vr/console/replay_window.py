"""The replay's drawing in the therapist window: the timeline strip's marks in their event
group's colours with its legend. Everything else of ``gmi-vr replay`` (playback, the body
solved from the recording, what therapy showed) is composed in ``gmi_vr.app.replay_run`` and
handed in as plain data.

This module imports no OpenGL at import time (the window is imported where a bar is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmi_vr.scene.draw import RGBA

if TYPE_CHECKING:
    from gmi_vr.console.therapist_window import TimelineBar

#: A mark on the timeline: (time_s, group); the groups are MARK_COLORS' keys.
Mark = tuple[float, str]

#: The timeline's mark colours (sRGB) by event group, soft enough to read the ticks apart.
MARK_COLORS: dict[str, RGBA] = {
    "trial": (0.45, 0.70, 0.95, 1.0),  # blue: a stimulus or repetition shown
    "answer": (0.55, 0.85, 0.50, 1.0),  # green: answered or timed out
    "rating": (0.98, 0.82, 0.35, 1.0),  # amber: a pain rating (the scale's highlight)
    "safety": (0.95, 0.40, 0.35, 1.0),  # red: stop, pain flare, time cap
    "block": (0.80, 0.62, 0.95, 1.0),  # violet: a block or task starts or ends
    "haptic": (0.95, 0.65, 0.80, 1.0),  # pink: a vibration in the patient's hand
    "change": (0.40, 0.88, 0.82, 1.0),  # teal: the therapist changed the limb, its size, or the plan's pace
}
OTHER_MARK_COLOR: RGBA = (0.75, 0.75, 0.75, 1.0)


def timeline_bar(start_s: float, end_s: float, position_s: float, marks: tuple[Mark, ...],
                 legend: tuple[tuple[str, str], ...]) -> TimelineBar:
    """The timeline from ``start_s`` to ``end_s`` (recording seconds) at ``position_s``: the
    ``marks`` (time_s, group) in their group's colour, the ``legend`` (group, words) in the
    order it lists them."""
    from gmi_vr.console.therapist_window import TimelineBar

    coloured = tuple((time_s, MARK_COLORS.get(group, OTHER_MARK_COLOR)) for time_s, group in marks)
    words = tuple((text, MARK_COLORS.get(group, OTHER_MARK_COLOR)) for group, text in legend)
    return TimelineBar(start_s, end_s, position_s, coloured, words)
