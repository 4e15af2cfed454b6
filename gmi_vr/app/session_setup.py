"""Setting up one session: the patient's program, calibration and avatar from the store, a
session runner for the plan, and a recorder. Free play (no patient) records nothing."""

from __future__ import annotations

import getpass
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from gmi_vr import __version__
from gmi_vr.app.audit import AuditWriter
from gmi_vr.app.patients import patient_program
from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.assets.locations import model_path
from gmi_vr.body import Appearance, BodySettings, Calibration
from gmi_vr.body.calibration import arm_reach
from gmi_vr.core.errors import GmiError, NotFoundError, StorageError
from gmi_vr.core.types import Side
from gmi_vr.recording.listing import SessionRow, saved_line, session_row
from gmi_vr.recording.recorder import SessionRecorder
from gmi_vr.recording.rows import RecorderStats
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import StageDecider, has_work, practice_records, propose_after_session
from gmi_vr.therapy.content.stimuli import stimulus_mesh_names
from gmi_vr.therapy.plan.home_sitting import HOME_CALM_MESSAGE, home_done_message, home_program
from gmi_vr.therapy.runner import CALM_MESSAGE, DONE_MESSAGE, SessionRunner

log = logging.getLogger("gmi_vr.app")

#: The frame source of a session in the headset (``xr.openxr_source``); any other source
#: runs on a desktop screen.
HEADSET_SOURCE = "openxr"


def installed_stimulus_meshes() -> frozenset[str]:
    """The stimulus models that are shipped (missing ones are drawn as primitive stand-ins):
    what a session may show, and what the window's renderer loads before the first frame."""
    return frozenset(name for name in stimulus_mesh_names() if _installed(name))


def _installed(model: str) -> bool:
    try:
        model_path(model)
    except NotFoundError:
        return False
    return True


@contextmanager
def session_pipeline(
    patient_id: str | None,
    *,
    source: str,
    runtime_name: str | None = None,
    system_name: str | None = None,
    display_hz: float | None = None,
    seed: int | None = None,
    report: Callable[[str], None] | None = None,
    record: bool = True,
    therapist: str | None = None,
    home: bool = False,
) -> Iterator[SessionPipeline]:
    """The pipeline for one session of ``patient_id`` (free play when None).

    The session is finished by ``SessionPipeline.finish()``, or when the block ends if the
    app has not: the recorder closes it with the runner's outcome (``SessionRunner.outcome``:
    completed, ended_early, safety_stop or not_started, with its reason) or "aborted" when
    an error ends the block (Ctrl-C is the therapist's end, not an error). A crash leaves the
    session "running", which the next start marks "interrupted". Then what the store holds
    of it is read back (``pipeline.saved``) and ``report`` is given one line saying so
    ("session 12 saved: 64 trials, pain 3 -> 2"). The session loop runs this finish, and the
    opening of the session, on a worker thread while the headset's frames go on
    (``SessionPipeline.finish_off_frame``, ``SessionLoop.beside``). The progression proposal over
    the patient's sessions, which reads them all, is audited when the block ends
    ("progression.proposal", ``review.progress.propose_after_session``).

    ``seed`` fixes the session's random sequences (tests); None draws one. Either way it is
    recorded in the "session.start" event. The therapist's actions during the session are
    audited as ``therapist`` (default: the logged-in user) through ``pipeline.audit``.

    The console's audit rows are written by an ``AuditWriter`` thread; a row that could not
    be written is shown in the console (``pipeline.audit_problem``) and raises StorageError
    when the block ends, like a recording failure.

    A store that cannot be written refuses the session (StorageError, before it runs) unless
    ``record`` is False: the therapist chose to run it unsaved, which goes to the audit trail
    (by ``therapist``) when the store can hold it. A session whose recorder failed at any
    point (write errors, lost records) raises StorageError when it ends, saying what was kept.

    The session is stored as mode "headset" when its frames come from the headset (``source``
    "openxr"), else as mode "desktop": the desktop simulator and its motion files run on a
    screen, without a headset, and their sessions are no headset visits in a review or a
    research export (``review.figures_data.is_practice``). ``home`` True: a practice sitting on
    a desktop at home (``therapy.results.practice_dose``): the program's home plan, the home's
    calm and closing words, stored as mode "desktop" at station "home".
    """
    if patient_id is None:
        yield SessionPipeline(BodySettings(affected_side=Side.LEFT))
        return
    store = SessionStore.open(create=False)
    try:
        patient = store.patient(patient_id)
        if record and not store.writable:  # refused before anything runs: nothing could be saved
            if home:  # practice at home is always recorded: there is no unsaved choice to offer
                raise StorageError(f"{store.open_problem}.")
            raise StorageError(f"{store.open_problem}, or run the session unsaved on purpose with --no-record.")
        program = patient_program(store, patient_id)
        calm_message, done_message = CALM_MESSAGE, DONE_MESSAGE
        if home:
            done_today = practised_today(store, patient_id, datetime.now(UTC).date())
            calm_message, done_message = HOME_CALM_MESSAGE, home_done_message(program, done_today)
            program = home_program(program, done_today)
        stored = store.latest_calibration(patient_id)
        calibration = Calibration.from_dict(stored.data) if stored is not None else None
        settings = patient.settings or {}
        body_settings = BodySettings.from_dict(settings["body"]) if "body" in settings else BodySettings()
        body_settings = replace(body_settings, affected_side=program.affected_side,
                                affected_hand_scale=program.affected_hand_scale)
        appearance = Appearance.from_dict(settings.get("appearance", {}))
        installed = installed_stimulus_meshes()
        if seed is None:
            seed = secrets.randbits(31)  # recorded in the "session.start" event
        # "Pain and swelling since last time" needs a last time: a session with work in it.
        had_session = any(has_work(store, s.id) for s in store.list_sessions(patient_id))
        arm = arm_reach(calibration.measures) if calibration is not None else None
        runner = SessionRunner(program, seed, anchor=None, date_iso=datetime.now(UTC).date().isoformat(),
                               available_meshes=installed, ask_since_last=had_session, arm=arm,
                               calm_message=calm_message, done_message=done_message)  # fmt: skip
        session_settings = {"program": program.to_dict(), "body": body_settings.to_dict(),
                            "appearance": appearance.to_dict(), "seed": seed}  # fmt: skip
        who = therapist or getpass.getuser()
        if not record:
            _audit_unrecorded(store, patient_id, therapist, session_settings)
            unsaved = SessionPipeline(body_settings, appearance, calibration, runner, None)
            if not store.writable:
                yield unsaved
                return
            # The console's actions are audited even when the session is not saved.
            unsaved_writer = AuditWriter(store)

            def audit_unsaved(action: str, details: dict[str, Any]) -> None:
                unsaved_writer.write(who, action, patient_id=patient_id, details=details)

            unsaved.audit, unsaved.audit_problem = audit_unsaved, lambda: unsaved_writer.problem
            try:
                yield unsaved
            finally:
                unsaved_writer.close()
            if unsaved_writer.failed:
                raise StorageError(f"The unsaved session of {patient_id}: {unsaved_writer.problem}")
            return
        recorder = store.start_session(
            patient_id, source=source, runtime_name=runtime_name, system_name=system_name,
            display_hz=display_hz, app_version=__version__, settings=session_settings,
            mode="headset" if source == HEADSET_SOURCE and not home else "desktop",
            station="home" if home else "clinic",
        )  # fmt: skip
        pipeline = SessionPipeline(body_settings, appearance, calibration, runner, recorder)

        def finish(error: BaseException | None) -> SessionRow | None:
            if error is None:
                outcome = runner.outcome(pipeline.ended_by)
                recorder.finish(outcome.status.value, outcome.reason)
            else:
                recorder.finish("aborted", f"error: {type(error).__name__}")
            saved = _read_back(store, recorder)
            # A session that did not fully reach the store is not called saved: the
            # StorageError raised when the block ends says what was kept.
            if report is not None and not _recording_failed(recorder.stats()):
                report(saved_line(saved) if saved is not None else _unsaved_line(recorder))
            return saved

        pipeline.finisher = finish

        writer = AuditWriter(store)  # the render thread only queues the console's rows

        def audit(action: str, details: dict[str, Any]) -> None:
            writer.write(who, action, patient_id=patient_id, session_id=recorder.session_id, details=details)

        pipeline.audit, pipeline.audit_problem = audit, lambda: writer.problem
        pipeline.stage_decision = StageDecider(store, patient_id, who)
        try:
            yield pipeline
        except KeyboardInterrupt as stop:  # Ctrl-C: the therapist's end; or the system's (Terminated)
            pipeline.ended_by = pipeline.ended_by or getattr(stop, "reason", "keyboard_interrupt")
            pipeline.finish()
            raise
        except BaseException as error:
            pipeline.finish(error)
            raise
        else:
            pipeline.finish()
        finally:
            writer.close()
            propose_after_session(store, patient_id, recorder.session_id)
        stats = recorder.stats()
        if _recording_failed(stats):
            raise _not_saved(store, patient_id, recorder.session_id, stats)
        if writer.failed:  # the session is saved, but not every action in it has its audit row
            raise StorageError(f"Session {recorder.session_id} of {patient_id} was saved, but {writer.problem}")
    finally:
        store.close()


@contextmanager
def console_session(patient_id: str | None, *, refusable: bool,
                    **options: Any) -> Iterator[tuple[SessionPipeline, str]]:
    """``session_pipeline(patient_id, **options)`` and "", or, when the start is
    ``refusable`` (asked for in the console, not on the command line) and the store refuses
    it (a GmiError: it cannot be written, the patient is gone), free play and the one
    sentence saying why: the console shows it and the run goes on."""
    with ExitStack() as stack:
        try:
            pipeline = stack.enter_context(session_pipeline(patient_id, **options))
        except GmiError as error:
            if not refusable or patient_id is None:
                raise
            log.warning("The session of %s did not start: %s", patient_id, error)
            pipeline = stack.enter_context(session_pipeline(None, **options))
            yield pipeline, f"The session of {patient_id} did not start: {error}"
            return
        yield pipeline, ""


def practised_today(store: SessionStore, patient_id: str, today: date) -> dict[str, int]:
    """Practice sittings of the patient on ``today`` (UTC) with each task ("laterality",
    "imagery", "mirror"), as the practice dose counts them (``review.progress``)."""
    done: dict[str, int] = {}
    for _, record in practice_records(store, patient_id, today, today):
        for task, minutes in record.minutes.items():
            if minutes > 0:
                done[task] = done.get(task, 0) + 1
    return done


def _read_back(store: SessionStore, recorder: SessionRecorder) -> SessionRow | None:
    """The finished session as the store holds it (None when nothing of it could be stored
    or read)."""
    if recorder.session_id is None:
        return None
    try:
        return session_row(store, recorder.session_id)
    except GmiError as error:
        log.error("Session %s could not be read back after it ended: %s", recorder.session_id, error)
        return None


def _unsaved_line(recorder: SessionRecorder) -> str:
    stats = recorder.stats()
    if recorder.session_id is None:
        return f"session not saved: {stats.last_error or 'the session store could not be written'}"
    return f"session {recorder.session_id}: what was saved could not be read back ({stats.last_error or 'see the log'})"


def _recording_failed(stats: RecorderStats) -> bool:
    """Whether any of a session failed to reach the store (a write failed or a record was lost)."""
    return bool(stats.write_errors or stats.lost_records)


def _not_saved(store: SessionStore, patient_id: str, session_id: int | None, stats: RecorderStats) -> StorageError:
    """What a session whose recording failed kept, in one sentence."""
    try:
        kept = (f"kept {len(store.trials(session_id))} trials, {len(store.ratings(session_id))} pain ratings, "
                f"{len(store.events(session_id))} events and {stats.frames_written} of "
                f"{stats.frames_received} motion frames") if session_id is not None else "kept nothing"  # fmt: skip
    except GmiError as error:
        kept = f"what was kept cannot be read back ({error})"
    return StorageError(
        f"Session {session_id} of {patient_id} was not fully saved ({stats.write_errors} failed writes, "
        f"{stats.lost_records} records lost; last error: {stats.last_error}): {kept}; free space or fix the "
        f"data folder, then check the store with 'gmi-vr store check'."
    )


def _audit_unrecorded(store: SessionStore, patient_id: str, therapist: str | None, settings: dict[str, Any]) -> None:
    """The therapist's choice to run a session unsaved, in the audit trail when the store can
    hold it (on a read-only store the choice is only in the exit status and the terminal)."""
    if not store.writable:
        return
    store.audit(therapist or getpass.getuser(), "session.not_recorded", patient_id=patient_id,
                details={"program_stage": settings["program"].get("stage"), "seed": settings["seed"]})  # fmt: skip
