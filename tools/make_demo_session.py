"""Write gmi_vr/data/demo-session.jsonl: the sample motion of a whole patient session that
``gmi-vr demo --patient ID`` plays (see gmi_vr/app/demo.py).

The session is a new patient's default stage-1 plan (a pain rating, three laterality blocks, a
pain rating; the sickness scale once a minute) run with the demo's seed. The stimuli's sides and times depend on the seed and on
the answers given so far, so the motion is built answer by answer: a rehearsal session runner
is fed the frames of the motion written so far, a copy of it looks ahead (the last keyframe
held) to the next thing to answer, and the answer's keyframes are appended. Deterministic: the
same code writes the same file.

The scripted patient: rates pain 4 before and 3 after (trigger taps step the scale, a held
trigger confirms), answers with the trigger of the side shown (two-handed answers), a little
slower for pictures of the affected (left) side, and is wrong on a few trials; answers the
sickness scale, asked between pictures, with the preselected "0" (one held trigger; the
check below still allows a low answer should a tap ever step the scale) and goes on after a break
with a tap.

Usage: .venv/bin/python tools/make_demo_session.py [OUT]   (default: the shipped file)
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from gmi_vr.app.demo import DEMO_SEED, DEMO_SESSION_MOTION
from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.runner import SessionRunner
from gmi_vr.xr.sim_source import frame_from_keyframe, parse_motion

RATE_HZ = 30
AFFECTED = Side.LEFT
PAIN_BEFORE, PAIN_AFTER = 4, 3
#: Reaction times, seconds: healthy-side pictures in [1.0, 1.5), affected-side ones 0.3 s slower
#: (the pattern laterality training looks for; CLINICAL.md).
RT_HEALTHY_S = (1.0, 1.5)
RT_AFFECTED_EXTRA_S = 0.3
#: Trials (counted from 0 over the session) answered with the wrong side.
WRONG_TRIALS = frozenset({5, 18, 37, 50})
PULL_S = 0.1  # the trigger travels from rest to a click in this time
HOLD_S = 0.2  # a tap or an answer holds the trigger this long
RNG_SEED = 7  # the reaction times' own sequence

HEADER = [
    "# A whole patient session for gmi-vr demo --patient (docs/motion-file.md): pain rating 4,",
    "# three laterality blocks answered with the triggers, sickness 0 each minute, pain rating 3. Written by",
    "# tools/make_demo_session.py for the default stage-1 program and the demo's seed; do not",
    "# edit by hand.",
]
#: The first keyframe: seated, looking slightly down at the table, hands resting, triggers up.
START: dict[str, Any] = {
    "t": 0.0,
    "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -8, 0]},
    "left": {"position": [-0.18, 0.86, -0.38], "yaw_pitch_roll_deg": [4, -10, 0],
             "trigger": 0.0, "trigger_click": False},
    "right": {"position": [0.18, 0.86, -0.38], "yaw_pitch_roll_deg": [-4, -10, 0],
              "trigger": 0.0, "trigger_click": False},
}  # fmt: skip


class Script:
    """The keyframes written so far and a rehearsal runner fed every frame they fix."""

    def __init__(self, program: Program) -> None:
        self.keyframes: list[dict[str, Any]] = [START]
        self.runner = SessionRunner(program, DEMO_SEED)
        self.fed = 0  # frames given to the runner
        self.pending: list[Event] = []  # events from fed frames not yet looked at
        # Events already returned (perhaps found on a probe before the runner got there).
        self.returned: set[tuple[float, str]] = set()

    @property
    def last_s(self) -> float:
        return float(self.keyframes[-1]["t"])

    def text(self) -> str:
        header = {"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}
        lines = [*HEADER, *(json.dumps(line) for line in [header, *self.keyframes])]
        return "\n".join(lines) + "\n"

    def add(self, time_s: float, side: Side, pulled: bool) -> None:
        """The trigger of ``side`` pulled (clicked) or released at ``time_s``, after a
        ``PULL_S`` travel; every frame up to it is then fixed and fed to the runner."""
        start = round(time_s - PULL_S, 4)
        assert start > self.last_s, (start, self.last_s)
        before = {"trigger": 0.0 if pulled else 1.0, "trigger_click": not pulled}
        after = {"trigger": 1.0 if pulled else 0.0, "trigger_click": pulled}
        self.keyframes.append({"t": start, side.value: before})
        self.keyframes.append({"t": round(time_s, 4), side.value: after})
        motion = parse_motion(self.text())
        while self.fed / RATE_HZ <= self.last_s:
            time = self.fed / RATE_HZ
            frame = frame_from_keyframe(self.fed, time, motion.sample(time))
            self.pending += self.runner.update(frame, None).events
            self.fed += 1

    def next_event(self, kinds: set[str]) -> Event:
        """The next event of one of ``kinds``: from the frames already fed, else from a copy of
        the runner fed frames with the last keyframe held."""
        while self.pending:
            event = self.pending.pop(0)
            if event.kind in kinds and (event.time_s, event.kind) not in self.returned:
                self.returned.add((event.time_s, event.kind))
                return event
        probe = copy.deepcopy(self.runner)
        motion = parse_motion(self.text())
        index = self.fed
        while index < self.fed + 600 * RATE_HZ:
            time = index / RATE_HZ
            for event in probe.update(frame_from_keyframe(index, time, motion.sample(time)), None).events:
                if event.kind in kinds:
                    self.returned.add((event.time_s, event.kind))
                    return event
            index += 1
        raise RuntimeError(f"no {sorted(kinds)} within ten minutes")

    def tap(self, time_s: float, side: Side = Side.RIGHT) -> float:
        self.add(time_s, side, pulled=True)
        self.add(time_s + HOLD_S, side, pulled=False)
        return time_s + HOLD_S

    def rate(self, value: int) -> None:
        """Answer the rating the runner asks now: ``value + 1`` taps (the first chooses 0),
        then the trigger held until the runner records the rating."""
        asked = self.next_event({"pain.ask"})
        time_s = max(asked.time_s, self.last_s) + 1.0
        for _ in range(value + 1):
            time_s = self.tap(time_s) + 0.3
        self.add(time_s + 0.4, Side.RIGHT, pulled=True)
        rated = self.next_event({"pain.rating"})
        assert rated.data["value"] == value, rated.data
        self.add(rated.time_s + 0.3, Side.RIGHT, pulled=False)


def build() -> str:
    program = Program.default(AFFECTED, BodyPart.HAND)
    script = Script(program)
    rng = np.random.default_rng(RNG_SEED)
    script.rate(PAIN_BEFORE)
    trial = 0
    while True:
        event = script.next_event({"trial.show", "pain.ask", "question.ask", "safety.break"})
        if event.kind == "question.ask":  # the sickness scale: confirm the preselected 0
            script.add(max(event.time_s, script.last_s) + 0.8, Side.RIGHT, pulled=True)
            answered = script.next_event({"sickness.fms"})
            # 0 (or a low answer, should a tap ever step the scale first).
            assert answered.data["value"] < program.safety.fms_threshold, answered.data
            script.add(answered.time_s + 0.3, Side.RIGHT, pulled=False)
            continue
        if event.kind == "safety.break":
            if event.data.get("state") == "offered":
                script.tap(max(event.time_s, script.last_s) + 2.0)
            continue
        if event.kind == "pain.ask":
            script.returned.discard((event.time_s, event.kind))  # Script.rate takes it
            script.pending.insert(0, event)
            break
        shown = Side(event.data["side"])
        rt = rng.uniform(*RT_HEALTHY_S) + (RT_AFFECTED_EXTRA_S if shown is AFFECTED else 0.0)
        answer = shown.other if trial in WRONG_TRIALS else shown
        script.tap(event.time_s + rt, answer)
        trial += 1
    script.rate(PAIN_AFTER)
    end = script.next_event({"session.end"})
    # Two more seconds: "Session complete" on screen before the motion ends.
    script.keyframes.append({"t": round(max(end.time_s, script.last_s) + 2.0, 4)})
    print(f"{trial} trials answered, session over at {end.time_s:.1f} s", file=sys.stderr)
    return script.text()


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else shipped_data_dir() / DEMO_SESSION_MOTION
    out.write_text(build(), encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
