"""The report's figures drawn with matplotlib from ``figures_data`` (no numbers computed
here: each function only draws what it is handed).

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot: no global state, no
window backend), 6.3 x 2.6 inches: an A4 page's width of text, three figures to a page. Colours: the
left side blue, the right side orange in every figure; the affected side is named in the
legend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from gmi_vr.review.figures_data import (
    BLOCK_STAGES,
    DoseFigure,
    ImageryFigure,
    LateralityFigure,
    MovementFigure,
    PainFigure,
    PatientReview,
    SessionReview,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase


SIDE_COLOURS = {"left": "#1f77b4", "right": "#ff7f0e"}
STAGE_COLOURS = {"laterality": "#4c72b0", "imagery": "#55a868", "mirror": "#c44e52",
                 "graded_movement": "#8172b2"}  # fmt: skip
STAGE_NAMES = {"laterality": "left/right judgement", "imagery": "explicit imagery",
               "mirror": "mirror therapy", "graded_movement": "graded movement"}  # fmt: skip
NORM_FILL = "#2ca02c"
SIZE_IN = (6.3, 2.6)


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a report: its anchor name, title, one-line caption and how to draw it
    (``draw(None)`` a figure of its own, ``draw(subfigure)`` into a page); ``draw`` is None
    when the period holds no data for it, and ``caption`` then says so."""

    key: str
    title: str
    caption: str
    draw: Callable[[FigureBase | None], FigureBase] | None


#: Fixed margins (fractions of the figure) for a figure of one row of axes: room for the
#: tick labels, an axis label on the left and the date axis's offset below. Fixed rather than
#: computed by a layout engine, which took most of a report's drawing time.
MARGINS = {"left": 0.09, "right": 0.98, "bottom": 0.17, "top": 0.96, "wspace": 0.3}


def _new(target: FigureBase | None, rows: int = 1, cols: int = 1, height: float = SIZE_IN[1],
         **margins: float) -> tuple[FigureBase, list[Axes]]:
    """Axes for one figure: on a figure of its own (``target`` None) or in ``target``."""
    from matplotlib.figure import Figure

    fig = target if target is not None else Figure(figsize=(SIZE_IN[0], height))
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw={**MARGINS, **margins})
    return fig, [ax for row in axes for ax in row]


def _dates_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.tick_params(labelsize=7)


def _side_label(side: str, affected: str) -> str:
    return f"{side} (affected)" if side == affected else side


def _plot_series(ax: Axes, dates: Sequence[datetime], values: Sequence[float | None], **style: object) -> None:
    """A line through the sessions that have a value (gaps are skipped, not drawn as zero)."""
    kept = [(d, v) for d, v in zip(dates, values, strict=True) if v is not None]
    if kept:
        xs, ys = zip(*kept, strict=True)
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, **style)  # type: ignore[arg-type]  # matplotlib's stubs cannot check keyword arguments passed as **style


def _first(values: Sequence[float | None]) -> float | None:
    return next((v for v in values if v is not None), None)


def laterality_measure(data: LateralityFigure, measure: str, affected: str, target: FigureBase | None) -> FigureBase:
    """Accuracy (``measure`` "accuracy", in %) or median RT ("median_rt_s") per side per
    session: the norm bands shaded, and the smallest real change (lower bound) from each
    side's first session as a dotted band."""
    fig, (ax,) = _new(target)
    scale = 100.0 if measure == "accuracy" else 1.0
    series = data.accuracy if measure == "accuracy" else data.median_rt_s
    src = (data.src_accuracy if measure == "accuracy" else data.src_rt_s)[0] * scale
    for band in data.bands:
        if band.measure == measure:
            ax.axhspan(band.low * scale, band.high * scale, color=NORM_FILL, alpha=0.12, linewidth=0,
                       label=band.label)  # fmt: skip
    for side, values in series.items():
        scaled = [None if v is None else v * scale for v in values]
        _plot_series(ax, data.dates, scaled, color=SIDE_COLOURS[side], label=_side_label(side, affected))
        first = _first(scaled)
        if first is not None:
            ax.axhspan(first - src, first + src, facecolor="none", edgecolor=SIDE_COLOURS[side],
                       linestyle=":", linewidth=0.8)  # fmt: skip
    ax.plot([], [], linestyle=":", color="#555555", label=f"smallest real change ± {src:g}"
            + (" points" if measure == "accuracy" else " s"))  # fmt: skip
    if measure == "accuracy":
        ax.set_ylabel("accuracy (%)", fontsize=8)
        ax.set_ylim(0, 105)
    else:
        ax.set_ylabel("median RT (s)", fontsize=8)
        ax.set_ylim(bottom=0)
    _dates_axis(ax)
    ax.legend(fontsize=6, loc="best")
    return fig


def laterality_gap(data: LateralityFigure, target: FigureBase | None) -> FigureBase:
    """Draw the laterality gap (|right - left| median reaction time in seconds per session, with the
    progression gate and the smallest real change) figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    fig, (ax,) = _new(target)
    _plot_series(ax, data.dates, list(data.rt_gap_s), color="#444444", label="|right − left| median RT")
    ax.axhline(data.rt_gap_max_s, color="#d62728", linestyle="--", linewidth=1,
               label=f"progression gate {data.rt_gap_max_s:g} s")  # fmt: skip
    ax.axhline(data.src_rt_s[0], color="#555555", linestyle=":", linewidth=1,
               label=f"smallest real change {data.src_rt_s[0]:g} s")  # fmt: skip
    ax.set_ylabel("RT gap (s)", fontsize=8)
    ax.set_ylim(bottom=0)
    _dates_axis(ax)
    ax.legend(fontsize=6, loc="best")
    return fig


def rotation(by_rotation: dict[str, tuple[tuple[int, float | None, int], ...]], affected: str,
             target: FigureBase | None) -> FigureBase:
    """Draw the reaction time by stimulus rotation (degrees) per side,
    ``affected`` marked figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    fig, (ax,) = _new(target, bottom=0.18)  # the x axis's label
    for side, rows in by_rotation.items():
        kept = [(angle, rt) for angle, rt, _ in rows if rt is not None]
        if kept:
            xs, ys = zip(*kept, strict=True)
            ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, color=SIDE_COLOURS[side],
                    label=_side_label(side, affected))  # fmt: skip
    ax.set_xticks(sorted({angle for rows in by_rotation.values() for angle, _, _ in rows}))
    top = max([rt for rows in by_rotation.values() for _, rt, _ in rows if rt is not None] + [1.0])
    ax.set_xlabel("rotation of the picture (degrees)", fontsize=8)
    ax.set_ylabel("median RT (s)", fontsize=8)
    ax.set_ylim(0, top * 1.15)
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="lower right")
    return fig


def dose(data: DoseFigure, target: FigureBase | None) -> FigureBase:
    """Draw the weekly dose (minutes per week by block stage, sessions per week) figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    import matplotlib.dates as mdates

    fig, (ax,) = _new(target, right=0.78)  # the legend beside the bars
    weeks = [datetime(w.week.year, w.week.month, w.week.day) for w in data.weeks]
    bottom = [0.0] * len(weeks)
    stages = [s for s in BLOCK_STAGES if any(s in w.minutes_by_stage for w in data.weeks)]
    stages += sorted({s for w in data.weeks for s in w.minutes_by_stage} - set(stages))
    columns = [(STAGE_NAMES.get(stage, stage), STAGE_COLOURS.get(stage, "#999999"),
                [w.minutes_by_stage.get(stage, 0.0) for w in data.weeks]) for stage in stages]
    # Session time outside the stages' tasks (ratings, breaks, setting up), or all of it when
    # the session kept no task times.
    rest = [max(0.0, w.minutes - sum(w.minutes_by_stage.values())) for w in data.weeks]
    if any(v > 0.05 for v in rest):
        columns.append(("ratings, breaks, other", "#c7c7c7", rest))
    for label, colour, values in columns:
        ax.bar(weeks, values, width=5, bottom=bottom, align="edge", color=colour, label=label)  # type: ignore[arg-type]  # datetimes: matplotlib converts them (its date units), its stubs take numbers only
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, week, top in zip(weeks, data.weeks, bottom, strict=True):
        ax.annotate(f"{week.sessions} session{'s' if week.sessions != 1 else ''}",
                    (mdates.date2num(x) + 2.5,  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
                     max(top, week.minutes)), ha="center", va="bottom", fontsize=6)
    ax.set_ylabel("minutes per week", fontsize=8)
    ax.set_ylim(0, max([*bottom, *(w.minutes for w in data.weeks), 1.0]) * 1.25)
    _dates_axis(ax)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def imagery(data: ImageryFigure, target: FigureBase | None) -> FigureBase:
    """Draw the motor imagery (imagined / demonstrated time and vividness per session) figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    fig, (ax,) = _new(target, right=0.91)  # the vividness axis on the right
    _plot_series(ax, data.dates, list(data.ratio), color="#55a868", label="imagined / demonstrated time")
    ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1, label="as long as the demonstration")
    ax.set_ylabel("time ratio", fontsize=8)
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    _plot_series(twin, data.dates, list(data.vividness), color="#8172b2", linestyle="--", label="vividness (1-5)")
    twin.set_ylim(0.5, 5.5)
    twin.set_ylabel("vividness", fontsize=8)
    twin.tick_params(labelsize=7)
    _dates_axis(ax)
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=6, loc="best")
    return fig


def movement(data: MovementFigure, target: FigureBase | None) -> FigureBase:
    """Draw the movement (range of motion in cm, smoothness, target and sync errors per
    session) figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    fig, axes = _new(target, 1, 3, height=2.4, left=0.07, top=0.88, wspace=0.35)
    rom_ax, smooth_ax, error_ax = axes
    for direction, values in data.rom_m.items():
        _plot_series(rom_ax, data.dates, [None if v is None else v * 100 for v in values], label=direction)
    rom_ax.set_title("range of motion (cm)", fontsize=8)
    _plot_series(smooth_ax, data.dates, list(data.sparc), color="#444444", label="SPARC")
    smooth_ax.set_title("smoothness (SPARC, 0 = smoothest)", fontsize=8)
    _plot_series(error_ax, data.dates, [None if v is None else v * 100 for v in data.target_error_m],
                 color="#c44e52", label="target error")  # fmt: skip
    _plot_series(error_ax, data.dates, [None if v is None else v * 100 for v in data.sync_error_m],
                 color="#8172b2", label="sync error")  # fmt: skip
    error_ax.set_title("target and sync error (cm)", fontsize=8)
    for ax in axes:
        _dates_axis(ax)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="best")
    return fig


def pain(data: PainFigure, target: FigureBase | None) -> FigureBase:
    """Draw the pain (NRS 0-10 before and after each session, flares and stops marked) figure into ``target`` (a subfigure of a report page), or on a figure of
    its own when ``target`` is None; returns the figure drawn on."""
    fig, (ax,) = _new(target)
    _plot_series(ax, data.dates, [None if v is None else float(v) for v in data.before], color="#444444",
                 label="before the session")  # fmt: skip
    _plot_series(ax, data.dates, [None if v is None else float(v) for v in data.after], color="#9467bd",
                 linestyle="--", label="after the session")  # fmt: skip
    if data.trend_line is not None:
        (x0, y0), (x1, y1) = data.trend_line
        ax.plot([x0, x1], [y0, y1], color="#2ca02c", linewidth=1,  # type: ignore[arg-type]  # datetimes: matplotlib converts them (its date units), its stubs take numbers only
                label=f"trend {data.trend_per_week:+.2f} points/week")  # fmt: skip
    if data.baseline is not None:
        ax.axhline(data.baseline - data.meaningful_points, color="#d62728", linestyle=":", linewidth=1,
                   label=f"{data.meaningful_points} points below the first rating")  # fmt: skip
        ax.axhline(data.baseline * (1 - data.meaningful_fraction), color="#d62728", linestyle="-.",
                   linewidth=0.8, label=f"{data.meaningful_fraction:.0%} below the first rating")  # fmt: skip
    for mark, flags, lift, style in (("flare", data.flare, 0.5, dict(marker="^", color="#d62728", s=40)),
                                     ("stopped", data.stopped, 1.2, dict(marker="x", color="#000000", s=30))):
        points = [(d, max(v for v in (b, a, 0) if v is not None))
                  for d, b, a, f in zip(data.dates, data.before, data.after, flags, strict=True) if f]  # fmt: skip
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, [y + lift for y in ys], label=mark, zorder=3, **style)  # type: ignore[arg-type]  # matplotlib's stubs cannot check keyword arguments passed as **style
    ax.set_ylabel("pain NRS (0-10)", fontsize=8)
    ax.set_ylim(-0.3, 11.5)
    _dates_axis(ax)
    ax.legend(fontsize=6, loc="best", ncols=2)
    return fig


def block_scores(review: SessionReview, target: FigureBase | None) -> FigureBase:
    """Per block of one session: accuracy and median RT per side."""
    fig, (acc_ax, rt_ax) = _new(target, 1, 2, bottom=0.18)
    blocks = [b.block + 1 for b in review.blocks]
    for side in ("left", "right"):
        acc = [None if (a := b.sides[side].accuracy if side in b.sides else None) is None else a * 100
               for b in review.blocks]  # fmt: skip
        rt = [b.sides[side].median_rt_s if side in b.sides else None for b in review.blocks]
        label = _side_label(side, review.patient.affected_side)
        for ax, values in ((acc_ax, acc), (rt_ax, rt)):
            kept = [(x, v) for x, v in zip(blocks, values, strict=True) if v is not None]
            if kept:
                xs, ys = zip(*kept, strict=True)
                ax.plot(xs, ys, marker="o", markersize=3, color=SIDE_COLOURS[side], label=label)
    acc_ax.set_ylim(0, 105)
    acc_ax.set_ylabel("accuracy (%)", fontsize=8)
    rt_ax.set_ylim(0, max([v for b in review.blocks for sc in b.sides.values()
                           if (v := sc.median_rt_s) is not None] + [1.0]) * 1.15)
    rt_ax.set_ylabel("median RT (s)", fontsize=8)
    for ax in (acc_ax, rt_ax):
        ax.set_xlabel("block", fontsize=8)
        ax.set_xticks(blocks)
        ax.grid(True, color="#dddddd", linewidth=0.5)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="best")
    return fig


def _spec(key: str, title: str, caption: str, empty: bool, empty_caption: str,
          draw: Callable[[FigureBase | None], FigureBase]) -> FigureSpec:
    return FigureSpec(key, title, empty_caption, None) if empty else FigureSpec(key, title, caption, draw)


def patient_figures(review: PatientReview) -> list[FigureSpec]:
    """The patient report's figures, in the order the report shows them."""
    lat = review.laterality
    affected = review.patient.affected_side
    part = review.patient.body_part.replace("_", "/")
    none = "No {} recorded in this period."
    pain_caption = "Pain before and after each session, with its trend and the meaningful-change lines; ▲ flare, × stopped."
    if review.pain.trend_per_week is not None:
        pain_caption = (f"Pain before (solid) and after (dashed) each session; the trend is "
                        f"{review.pain.trend_per_week:+.2f} points a week; red lines: a meaningful fall "
                        "(2 points or 30 %); ▲ flare, × stopped.")  # fmt: skip
    return [
        _spec("dose", "Dose", "Minutes of therapy per week by stage; the number on each bar is the "
              f"sessions that week. {review.dose.prescribed_note}", review.dose.empty, none.format("sessions"),
              lambda t: dose(review.dose, t)),  # fmt: skip
        _spec("accuracy", "Left/right judgement: accuracy",
              f"Share of {part} pictures judged correctly, per side and session; green: the norm; "
              "dotted: the smallest real change from the first session.",
              lat.empty, none.format("left/right judgements"),
              lambda t: laterality_measure(lat, "accuracy", affected, t)),  # fmt: skip
        _spec("reaction_time", "Left/right judgement: reaction time",
              "Median time to a correct answer, per side and session; green: the norm for "
              f"{part}; dotted: the smallest real change from the first session.",
              lat.empty, none.format("left/right judgements"),
              lambda t: laterality_measure(lat, "median_rt_s", affected, t)),  # fmt: skip
        _spec("gap", "Left/right gap",
              "How much slower one side is than the other; below the dotted line the sides "
              "cannot be told apart.", not any(g is not None for g in lat.rt_gap_s),
              none.format("answers on both sides"), lambda t: laterality_gap(lat, t)),  # fmt: skip
        _spec("rotation", "Reaction time by rotation",
              "Median reaction time by how far the picture is turned, over the period; rising "
              "with the angle is the sign of motor imagery.", not lat.rt_by_rotation,
              none.format("left/right judgements"), lambda t: rotation(lat.rt_by_rotation, affected, t)),  # fmt: skip
        _spec("imagery", "Explicit motor imagery",
              "Imagined time over the demonstration's time (1 = as long) and how vivid the "
              "imagery was (1-5), per session.", review.imagery.empty, none.format("imagery"),
              lambda t: imagery(review.imagery, t)),  # fmt: skip
        _spec("movement", "Mirror therapy and movement",
              "Range of motion per direction, smoothness of the movements, and the distance to "
              "the target and between the limbs, per session.", review.movement.empty,
              none.format("movement repetitions"), lambda t: movement(review.movement, t)),  # fmt: skip
        _spec("pain", "Pain", pain_caption, review.pain.empty, none.format("pain ratings"),
              lambda t: pain(review.pain, t)),
    ]


def session_figures(review: SessionReview) -> list[FigureSpec]:
    """One session's figures."""
    affected = review.patient.affected_side
    none = "No {} recorded in this session."
    return [
        _spec("blocks", "Per block", "Accuracy and median reaction time per side in each block.",
              not review.blocks, none.format("left/right judgements"), lambda t: block_scores(review, t)),  # fmt: skip
        _spec("rotation", "Reaction time by rotation",
              "Median reaction time by how far the picture is turned; rising with the angle is "
              "the sign of motor imagery.", not review.rt_by_rotation,
              none.format("left/right judgements"), lambda t: rotation(review.rt_by_rotation, affected, t)),  # fmt: skip
    ]


def svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (text kept as text; no XML prologue and no
    metadata block, whose RDF namespaces are the only addresses it would hold)."""
    import io
    import re

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gmi-vr"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], count=1, flags=re.S)
