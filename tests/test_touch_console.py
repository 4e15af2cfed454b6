"""The therapist's window paces touch training, under a real X server (Xvfb): the simulator
runs a patient's touch block from a motion file, and two pictures of the window are kept —
one while the next touch is announced (a calm bar counting down) and one while a touch is
due ("TOUCH NOW", a loud orange bar) — and the bar's pixels are asserted in each. The
product runs in a fresh interpreter (PyOpenGL binds GLX once per process)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.clinic_store import store_with_patient
from support.screens import keep_picture, logged, require_display, run_window_script, window_script

MOTION = "\n".join(json.dumps(line) for line in [
    {"format": "gmi-vr-motion", "version": 1, "rate_hz": 30},
    {"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -20, 0]},
     "left": {"position": [-0.2, 0.7, -0.3]}, "right": {"position": [0.2, 0.7, -0.3]}},
    {"t": 30.0},
]) + "\n"  # fmt: skip

SCRIPT = """
    import gmi_vr.console.therapist_window as console
    from gmi_vr.app import run_sim
    from PIL import Image

    kept = {{}}
    original_show = console.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False, timeline=None):
        panel = self.panel
        which = None
        if panel is not None and panel.cue:
            which = "now" if panel.cue_now else ("next" if panel.cue.startswith("next in") else None)
        if which is None or which in kept:
            return original_show(self, draw_list, frame, status, capture, timeline)
        pixels = original_show(self, draw_list, frame, status, True, timeline)
        path = Path({out!r}) / f"touch-{{which}}.png"
        Image.fromarray(pixels[:, :, :3]).save(path)
        kept[which] = {{"cue": panel.cue, "lines": list(panel.cue_lines),
                        "rect": list(self.console.button_rects["touch cue"]), "path": str(path)}}
        return pixels

    console.TherapistWindow.show = show
    run_sim(Path({motion!r}), patient_id="C-1", max_frames=450, therapist="dr.c", report=print)
    print("KEPT", json.dumps(kept))
    """


@pytest.mark.display
def test_the_therapists_window_shows_the_next_touch_and_cues_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "C-1", program={
        "session.blocks": ["touch"], "session.rating_at_start": False, "session.rating_at_end": False,
        "safety.fms_every_s": 0, "safety.stop_hint_s": 0, "touch.interval_s": 6.0, "touch.lead_s": 3.0,
    }, reason="the console's touch cue").close()  # fmt: skip
    motion = tmp_path / "rest.jsonl"
    motion.write_text(MOTION)
    script = window_script(SCRIPT, motion=str(motion), out=str(tmp_path))
    kept = logged(run_window_script(script), "KEPT")
    assert set(kept) == {"next", "now"}, kept

    # The words: what to touch, with which probe, on which limb; the block and touch count.
    assert kept["next"]["cue"].startswith("next in ") and kept["next"]["cue"].endswith("\naffected left hand")
    assert kept["now"]["cue"].startswith("TOUCH NOW:\n") and " probe (" in kept["now"]["cue"]
    assert "block 1 of 3, view: hidden" in kept["now"]["lines"] and "touch 1 of 24" in kept["now"]["lines"]
    # The first cue names the touch the countdown announced.
    assert kept["next"]["cue"].split(":\n", 1)[1] == kept["now"]["cue"].split(":\n", 1)[1]

    loud = np.array([0.85, 0.55, 0.1]) * 255
    calm = np.array([0.22, 0.3, 0.42]) * 255
    for which, colour, other in (("now", loud, calm), ("next", calm, loud)):
        image = np.asarray(Image.open(keep_picture(Path(kept[which]["path"]))).convert("RGB")).astype(float)
        x, y, w, h = kept[which]["rect"]
        assert w > 300 and h >= 60, kept[which]["rect"]  # wide and three lines high
        bar = image[y : y + h, x : x + w].reshape(-1, 3)
        near = (np.abs(bar - colour).max(axis=1) < 12).mean()
        assert near > 0.6, f"{which}: the bar is its colour ({near:.0%} of its pixels)"
        assert (np.abs(bar - other).max(axis=1) < 12).mean() < 0.01, which
        assert (bar.max(axis=1) > 200).sum() > 200, f"{which}: the cue's words are written on the bar"
