"""The patient's handout: one page, in plain words and large type, saying what to practise
between visits, how often and how long, how to stop, what to do if pain flares, and the
clinic's next step.

Route: ``handout(patient_id, program)`` turns the program's prescription for its stage
(``Program.practice``) and safety settings into plain data (``Handout``: headed paragraphs)
→ ``handout_html`` fills the Jinja2 template, or ``handout_pdf`` draws the same text on one A4
page with matplotlib (the report's PDF route; the type shrinks, never below ``MIN_PT``, so
the page is one page). Written like a report (``report.check_output``, then atomically).

The words are for a patient in pain: short sentences, no numbers they cannot use, and the
safety facts of CLINICAL.md ("Safety", "Pain ratings and flares", "Mirror therapy grading").
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from gmi_vr import __version__
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import patient_program
from gmi_vr.review.report import check_output, write_atomically
from gmi_vr.review.report_errors import ReportError
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage

#: A waking day, hours: "every 2 hours" is said from it (the prescription's default assumes
#: 16; product choice).
WAKING_HOURS = 16

_PART = {BodyPart.HAND: "hand", BodyPart.FOOT: "foot", BodyPart.SHOULDER: "shoulder",
         BodyPart.BACK_NECK: "back and neck"}  # fmt: skip
_STAGE_WORDS = {Stage.LATERALITY: "left-or-right pictures", Stage.EXPLICIT_IMAGERY: "imagining movements",
                Stage.MIRROR_THERAPY: "mirror practice", Stage.GRADED_MOVEMENT: "everyday movements"}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """A heading and its paragraphs."""

    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Handout:
    """A patient's practice handout as plain data: title, subtitle, one part per task and the
    footer, drawn by ``handout_html`` or ``handout_pdf``."""
    title: str
    subtitle: str
    parts: tuple[Part, ...]
    footer: str


def _how_often(times: int) -> str:
    if times == 1:
        return "once a day"
    if times == 2:
        return "twice a day"
    every = WAKING_HOURS / times
    spread = f" (about every {every:g} hours while you are awake)" if every >= 1 and every == int(every) else ""
    return f"{times} times a day{spread}"


def _minutes(minutes: float) -> str:
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def handout(patient_id: str, program: Program) -> Handout:
    """The handout for the program's current stage (plain data for both formats)."""
    practice = program.practice.for_stage(program.stage)
    part = _PART[program.body_part]
    side = program.affected_side.value
    what: list[str] = []
    for task in practice.tasks:
        minutes, times = practice.dose(task)
        dose = f"{_minutes(minutes)}, {_how_often(times)}."
        if task == "laterality":
            what.append(f"Left or right? Look at pictures of a {part} and say, as fast as you can, whether "
                        f"each one is a left or a right {part}. {dose}")  # fmt: skip
        elif task == "imagery":
            what.append(f"Imagine moving. Sit comfortably and imagine moving your {side} {part} slowly, "
                        f"without moving it. Imagine only movements that do not hurt. {dose}")  # fmt: skip
        else:
            what.append(f"Mirror box. Put your {side} {part} behind the mirror, out of sight, and watch the "
                        f"other {part} in the mirror. First only look. Then move slowly, with large, easy "
                        f"movements that do not hurt. Use a plain mirror, never a magnifying one. {dose}")  # fmt: skip
    if not what:
        what.append("Nothing to practise at home for now. Rest, and come to your next visit.")
    safety = program.safety
    example_from = 3
    example_to = min(example_from + safety.flare_rise, 10)
    ceiling = f", or reaches {safety.pain_ceiling} out of 10" if safety.pain_ceiling < 10 else ""
    stop = (
        "You can stop at any time. Stopping is never a failure.",
        f"Stop moving straight away if your pain goes up by {safety.flare_rise} points or more "
        f"(out of 10, for example from {example_from} to {example_to}), or by about a third{ceiling}.",
        "Stop too if you feel dizzy, sick or confused.",
    )
    flare = (
        "Stop moving. With the mirror, only look at the reflection, or rest."
        if "mirror" in practice.tasks else "Stop, and rest.",
        "Write down your pain (0 to 10) and any swelling, then and the next day: "
        "pain and swelling after moving can show the next day.",
        "Tell your therapist. If it has not settled by the next day, call the clinic before you practise again.",
    )
    next_step = program.practice.next_step.strip()
    if not next_step:
        after = Stage(min(int(program.stage) + 1, int(max(Stage))))
        next_step = ("At your next visit your therapist looks at your practice and your results with you"
                     + (f", and decides with you when to move on to {_STAGE_WORDS[after]}."
                        if after is not program.stage else "."))  # fmt: skip
    return Handout(
        title="Your practice between visits",
        subtitle=f"For {patient_id}. Now: {_STAGE_WORDS[program.stage]} (stage {int(program.stage)} of 4).",
        parts=(Part("What to practise", tuple(what)), Part("How to stop", stop),
               Part("If pain flares", flare), Part("Next step", (next_step,))),
        footer=f"Made by gmi-vr {__version__} from your program. Short, frequent practice works best.",
    )  # fmt: skip


# --- HTML ------------------------------------------------------------------------------------


def handout_html(doc: Handout) -> str:
    """The handout as a self-contained HTML page (the Jinja2 template, autoescaped)."""
    from importlib import resources

    import jinja2

    text = resources.files("gmi_vr.review").joinpath("templates/handout.html.j2").read_text("utf-8")
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(text)
    return template.render(doc=doc)


# --- PDF: one A4 page ------------------------------------------------------------------------

PAGE_IN = (8.27, 11.69)  # A4 portrait, inches
MARGIN_IN = 0.7
#: Body type, points: the largest that fits the page is used; large type for a patient in pain
#: (product choice: 16 pt reads at arm's length; 13 pt is the smallest we allow).
BODY_PT = (16.0, 15.0, 14.0, 13.0)
MIN_PT = BODY_PT[-1]
_LINE = 1.4  # line height / type size
_CHAR_EM = 0.55  # DejaVu Sans' mean character width, in ems (for wrapping)


def _lines(doc: Handout, body_pt: float) -> list[tuple[str, float, str]]:
    """(text, size pt, weight) lines of the page, wrapped to its width at ``body_pt``."""
    width_pt = (PAGE_IN[0] - 2 * MARGIN_IN) * 72

    def wrap(text: str, size: float) -> list[str]:
        return textwrap.wrap(text, int(width_pt / (size * _CHAR_EM))) or [""]

    head, title = body_pt * 1.2, body_pt * 1.5
    out = [(line, title, "bold") for line in wrap(doc.title, title)]
    out += [(line, body_pt, "normal") for line in wrap(doc.subtitle, body_pt)]
    for part in doc.parts:
        out.append(("", body_pt * 0.5, "normal"))
        out += [(line, head, "bold") for line in wrap(part.heading, head)]
        for paragraph in part.paragraphs:
            out += [(line, body_pt, "normal") for line in wrap(paragraph, body_pt)]
            out.append(("", body_pt * 0.3, "normal"))
    out.append(("", body_pt * 0.5, "normal"))
    out += [(line, body_pt * 0.6, "normal") for line in wrap(doc.footer, body_pt * 0.6)]
    return out


def page_lines(doc: Handout) -> tuple[float, list[tuple[str, float, str]]]:
    """The body size used and the lines at it: the largest of ``BODY_PT`` whose lines fit
    the page; ReportError when even ``MIN_PT`` does not (the page would overflow)."""
    usable_pt = (PAGE_IN[1] - 2 * MARGIN_IN) * 72
    for body_pt in BODY_PT:
        lines = _lines(doc, body_pt)
        if sum(size * _LINE for _, size, _ in lines) <= usable_pt:
            return body_pt, lines
    raise ReportError("The handout does not fit one page; shorten the program's practice.next_step.")


def handout_pdf(doc: Handout, out: Path) -> None:
    """Write the handout as a one-page PDF to ``out`` (matplotlib's PDF backend, fonts embedded)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    _, lines = page_lines(doc)
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(out, metadata={"Title": doc.title, "Creator": f"gmi-vr {__version__}"}) as pdf:  # fmt: skip
        page = Figure(figsize=PAGE_IN)
        y_pt = (PAGE_IN[1] - MARGIN_IN) * 72
        for text, size, weight in lines:
            y_pt -= size * _LINE
            if text:
                page.text(MARGIN_IN / PAGE_IN[0], y_pt / (PAGE_IN[1] * 72), text, fontsize=size,
                          fontweight=weight, family="DejaVu Sans", va="bottom", ha="left")  # fmt: skip
        pdf.savefig(page)


# --- writing ---------------------------------------------------------------------------------


def write_handout(store: SessionStore, patient_id: str, out: Path) -> Path:
    """The patient's handout for their current program, written to ``out`` (.html or .pdf).
    The path is checked before the store is read; NotFoundError for an unknown patient."""
    kind = check_output(out, "handout")
    doc = handout(patient_id, patient_program(store, patient_id))
    page_lines(doc)  # a handout that cannot fit one page fails before a file is begun

    def draw(temp: Path) -> None:
        if kind == "html":
            temp.write_text(handout_html(doc), encoding="utf-8")
        else:
            handout_pdf(doc, temp)

    write_atomically(out, draw)
    return out
