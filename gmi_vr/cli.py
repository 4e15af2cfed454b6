"""The ``gmi-vr`` command.

Each subcommand imports what it needs when it runs (STYLE.md: optional parts fail when
used, not when imported), so ``sessions`` and ``export`` work on a machine with no OpenXR
runtime and no display. User-facing failures are ``GmiError``s: printed as one sentence
without a traceback, exit code from the error class.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmi_vr import __version__  # also the package's version (pyproject.toml reads it)
from gmi_vr.core.errors import GmiError, ProgramError, Terminated

if TYPE_CHECKING:
    from gmi_vr.app.accounts import Account, Permission
    from gmi_vr.recording.store import SessionStore
    from gmi_vr.therapy.plan.program import Program

Command = Callable[[argparse.Namespace], int]

#: Exit status of a patient session run unsaved on purpose (``run --no-record``): it ran as
#: asked, but a script must never take it for a recorded one (0).
EXIT_NOT_RECORDED = 10


def _cmd_doctor(args: argparse.Namespace) -> int:
    from gmi_vr.app import doctor

    return doctor(print_line=print, verbose=args.verbose)


def _cmd_run(args: argparse.Namespace) -> int:
    from gmi_vr import app

    if args.every_frame and args.motion is None:
        raise GmiError("--every-frame is for a motion file's run (--motion FILE); leave it out otherwise.")
    record = not args.no_record
    account, therapist = _run_account(args)
    if not record:
        if args.patient is None:
            raise GmiError("--no-record is for a patient session (--patient ID); free play is never recorded.")
        print(f"gmi-vr: the session of {args.patient} runs WITHOUT RECORDING (--no-record): nothing of it "
              f"will be saved, and the choice goes to the audit trail where the store can hold it.",
              file=sys.stderr)  # fmt: skip
    # A patient's recorded session ends with one line on stdout saying what the store holds of it.
    lsl, lsl_wait_s = _lsl_options(args)
    if args.sim or args.motion:
        app.run_sim(args.motion, patient_id=args.patient, max_frames=args.max_frames, report=print,
                    record=record, therapist=therapist, lsl=lsl, lsl_wait_s=lsl_wait_s, notice=_notice,
                    account=account, every_frame=args.every_frame)  # fmt: skip
    else:
        app.run_openxr(patient_id=args.patient, max_frames=args.max_frames, report=print, record=record,
                       therapist=therapist, hands_only=args.hands, lsl=lsl, lsl_wait_s=lsl_wait_s,
                       notice=_notice, account=account)  # fmt: skip
    if not record:
        print(f"gmi-vr: the session of {args.patient} was not saved (--no-record); "
              f"exit status {EXIT_NOT_RECORDED} says so.", file=sys.stderr)  # fmt: skip
        return EXIT_NOT_RECORDED
    return 0


def _run_account(args: argparse.Namespace) -> tuple[Account | None, str]:
    """Who runs a session: on a store with accounts, the account of ``$GMI_VR_TOKEN`` when set,
    else nobody yet (None: the console asks for a sign-in in its window); on a store without
    accounts, --by or the logged-in user. Returns (account or None, the name to audit)."""
    from gmi_vr.app.accounts import TOKEN_ENV, from_token, require
    from gmi_vr.core.errors import AccessError
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording.store import SessionStore

    settings = load_settings()
    named = args.by or getpass.getuser()
    if not (settings.database_url or settings.database_file.exists()):
        return None, named
    store = SessionStore.open(create=False)  # any failure to open is the command's: never a way round the sign-in
    try:
        if not store.count_users():
            return None, named
        token = os.environ.get(TOKEN_ENV)
        if not token:
            if args.by:
                raise AccessError("This store has accounts: leave --by out and sign in at the console, "
                                  "whose account the audit trail names.")
            return None, named
        account = from_token(store, token)
        require(account, "change_records")
    finally:
        store.close()
    if args.by and args.by != account.name:
        raise AccessError(f"--by {args.by} is not the signed-in account {account.name}; leave --by out: "
                          f"the audit trail names the account.")
    return account, account.name


def _lsl_options(args: argparse.Namespace) -> tuple[bool, float]:
    """Whether the run opens the Lab Streaming Layer streams (--lsl, --lsl-wait or the ``lsl``
    setting) and how long it waits for a recorder first (seconds)."""
    from gmi_vr.core.settings import load_settings

    wait = float(args.lsl_wait or 0.0)
    if not 0.0 <= wait <= 86_400.0:  # NaN fails both
        raise GmiError(f"--lsl-wait takes the seconds to wait for a recorder, from 0 to 86400, not {args.lsl_wait:g}.")
    return bool(args.lsl or args.lsl_wait is not None or load_settings().lsl), wait


def _notice(line: str) -> None:
    """A run's notice on stderr (stdout says what was saved)."""
    print(f"gmi-vr: {line}", file=sys.stderr)


def _cmd_practice(args: argparse.Namespace) -> int:
    from gmi_vr import app

    # Ends with one line on stdout saying what the store holds of the sitting; a sitting that
    # could not be stored raises StorageError (never exit 0), as for ``run``.
    screenshot = Path(args.screenshot) if args.screenshot is not None else None
    who = _therapist(args)  # a store with accounts (a clinic's) asks for one, as run does
    app.run_practice(args.patient, max_frames=args.max_frames, screenshot=screenshot, report=print,
                     by=who)  # fmt: skip
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from gmi_vr import app

    posture = "standing" if args.standing else "seated"
    if args.sim or args.motion:
        result = app.run_calibration_sim(args.patient, posture, args.motion, therapist=_therapist(args))
    else:
        result = app.run_calibration_openxr(args.patient, posture, therapist=_therapist(args))
    m = result.measures
    print(f"calibrated {args.patient} ({posture}): height {m.height_m:.2f} m, shoulder width "
          f"{m.shoulder_width_m:.2f} m, arm length {m.arm_length_m:.2f} m (measured on the "
          f"{result.measured_side.value} arm)")  # fmt: skip
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gmi_vr.app import run_demo

    if args.patient is not None:
        return _demo_patient_session(args)
    written = run_demo(Path(args.out), args.motion)
    for path in written:
        print(path)
    return 0


def _demo_patient_session(args: argparse.Namespace) -> int:
    """``demo --patient``: a whole recorded session from the sample motion; the pictures, and
    one line on stdout saying what the store holds of the session."""
    from gmi_vr.app.demo import run_patient_demo

    demo = run_patient_demo(args.patient, Path(args.out), args.motion, report=print)
    for path in demo.pictures:
        print(path)
    return 0


def _open_store(create: bool = False) -> SessionStore:
    """The configured store; only ``create`` (adding a patient) makes a missing data folder,
    and says so."""
    from gmi_vr.recording.store import SessionStore

    store = SessionStore.open(create=create, on_wait=lambda message: print(f"gmi-vr: {message}", file=sys.stderr))
    if store.created_folder is not None:
        print(f"created the data folder {store.created_folder}")
        if not store.encrypted:
            # The one moment encryption costs nothing and protects every record to come.
            print("gmi-vr: the new store is not encrypted; run 'gmi-vr store encrypt' before the first patient's "
                  "session if this disk is not encrypted itself.", file=sys.stderr)  # fmt: skip
    return store


def _therapist(args: argparse.Namespace, store: SessionStore | None = None,
               permission: Permission = "change_records", also: Permission | None = None) -> str:
    """Who acts, for the audit trail. On a store with accounts: the signed-in account
    (``$GMI_VR_TOKEN``, else a name and password asked at the terminal), refused when its role
    may not (``app.accounts``: ``permission``, and ``also`` when given); on a store without
    accounts: --by, else the logged-in user."""
    from gmi_vr.app.accounts import TOKEN_ENV, acting_account, require
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording.store import SessionStore

    opened = None
    settings = load_settings()
    if store is None and (settings.database_url or settings.database_file.exists()):
        # Any failure to open is the command's failure: never a way round the sign-in.
        opened = store = SessionStore.open(create=False)
    try:
        ask = _ask_sign_in if sys.stdin.isatty() else None
        account = acting_account(store, permission, os.environ.get(TOKEN_ENV), ask) if store else None
        if account is not None and also is not None:
            require(account, also)
    finally:
        if opened is not None:
            opened.close()
    by = getattr(args, "by", None)
    if account is None:
        return by or getpass.getuser()
    if by and by != account.name:
        from gmi_vr.core.errors import AccessError

        raise AccessError(f"--by {by} is not the signed-in account {account.name}; leave --by out: the audit trail names the account.")
    return account.name


def _ask_sign_in() -> tuple[str, str]:
    """A name and password typed at the terminal (the password is not echoed)."""
    print("This store has accounts: sign in.", file=sys.stderr)
    name = input("account: ").strip()
    return name, getpass.getpass("password: ")


def _read_password(args: argparse.Namespace, confirm: bool) -> str:
    """The password from the first line of standard input (--password-stdin, for scripts),
    else typed at the terminal (twice for a new one)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if confirm and getpass.getpass("the same password again: ") != password:
        raise GmiError("The two passwords differ; nothing was changed: try again.")
    return password


def _cmd_users(args: argparse.Namespace) -> int:
    from gmi_vr.app import accounts

    store = _open_store(create=args.action == "add")
    try:
        if args.action == "list":
            for name, role in store.list_users():
                print(f"{name:<24} {role}")
            if not store.count_users():
                print("no accounts: add the first (an admin) with  gmi-vr users add NAME --role admin")
            return 0
        by = None
        if store.count_users():
            by = accounts.Account(_therapist(args, store, "manage_users"), "admin")
        first = accounts.add_user(store, args.name, args.role, _read_password(args, confirm=True), by)
    finally:
        store.close()
    print(f"added account {args.name} ({args.role})" + (
        "; from now on commands that change records ask for an account" if first else ""))  # fmt: skip
    return 0


def _cmd_signin(args: argparse.Namespace) -> int:
    from gmi_vr.app import accounts

    store = _open_store()
    try:
        account = accounts.sign_in(store, args.name, _read_password(args, confirm=False))
        token = accounts.issue_token(store, account)
    finally:
        store.close()
    print(f"export {accounts.TOKEN_ENV}={token}")
    print(f"gmi-vr: signed in as {account.name} ({account.role}) for {accounts.TOKEN_HOURS} hours; "
          f"keep the token secret, like the password.", file=sys.stderr)  # fmt: skip
    return 0


def _cmd_patients(args: argparse.Namespace) -> int:
    from gmi_vr import app

    if args.action == "add":  # the console adds a patient through the same function
        patient = app.add_new_patient(
            _open_store, args.id, args.side, args.part, age_years=args.age, age_band=args.age_band,
            therapist=lambda store: _therapist(args, store),
        )  # fmt: skip
        print(f"added patient {patient.id} ({patient.affected_side} {patient.body_part}, stage 1)")
        return 0
    if args.action == "show" and args.handout is not None:
        from gmi_vr.review.report import check_output

        check_output(Path(args.handout).expanduser(), "handout")  # before the store opens: fail early
    store = _open_store()
    try:
        if args.action == "list":
            patients = store.list_patients()
            if args.json:
                print(json.dumps([_patient_summary(store, p.id) for p in patients], indent=2))
            elif not patients:
                print("no patients yet: add one with  gmi-vr patients add ID --side left|right --part hand")
            for patient in patients if not args.json else ():
                summary = _patient_summary(store, patient.id)
                print(f"{summary['id']:<16} {summary['affected_side']:<6} {summary['body_part']:<10} stage {summary['stage']}")
        elif args.action == "show" and args.handout is not None:
            from gmi_vr.review.handout import write_handout

            actor = _therapist(args, store, "export")  # the program on paper: as a report is
            store.patient(args.id)  # an unknown patient in one sentence, before the audit entry
            if store.writable:
                store.audit(actor, "handout.write", patient_id=args.id,
                            details={"format": Path(args.handout).suffix.lstrip(".").lower()})
            handout = write_handout(store, args.id, Path(args.handout).expanduser())
            print(handout)
            _say_not_encrypted(store, handout)
        elif args.action == "show":
            summary = _patient_summary(store, args.id)
            program = app.patient_program(store, args.id)
            from gmi_vr.app.patients import program_setters

            rows = program.settings_with_sources(program_setters(store, args.id))
            if args.json:
                sources = {path: source for path, _, source in rows}
                print(json.dumps({**summary, "program": program.to_dict(), "sources": sources}, indent=2))
            else:
                for key, value in summary.items():
                    print(f"{key:>14}: {value}")
                print(f"{'blocks':>14}: {', '.join(program.blocks)}")
                print(f"{'practice':>14}: {_practice_line(program)}")
                for path in program.overridden:
                    print(f"{'overridden':>14}: {path}")
                print("program (setting = value  [source]):")
                for path, value, source in rows:
                    print(f"  {path} = {json.dumps(value)}  [{source}]")
        elif args.action == "edit":
            from gmi_vr.app.patients import appearance_change, edit_patient_appearance
            from gmi_vr.therapy.plan.program import RESEARCH_SETTINGS

            changes = dict(_parse_assignment(item) for item in args.set)
            # The patient's look (appearance.*) is kept beside the program, not in it.
            looks = {p: v for p, v in changes.items() if p.replace("__", ".").startswith("appearance.")}
            settings = {p: v for p, v in changes.items() if p not in looks}
            # A program's research settings are a researcher's or an admin's to change.
            research = sum(p.replace("__", ".").split(".")[0] in RESEARCH_SETTINGS for p in settings)
            permission: Permission = "research" if research else "change_records"
            also: Permission | None = "change_records" if 0 < research < len(changes) else None
            who = _therapist(args, store, permission, also)
            looks = {p.replace("__", "."): v for p, v in looks.items()}
            if looks:  # checked (the avatar loaded) before anything is stored: a refusal changes nothing
                appearance_change(store, args.id, looks)
            program = (app.edit_patient_program(store, args.id, settings, therapist=who, reason=args.reason)
                       if settings else app.patient_program(store, args.id))  # fmt: skip
            if looks:
                edit_patient_appearance(store, args.id, looks, therapist=who, reason=args.reason)
            print(f"patient {args.id}: changed {', '.join(changes)} (stage {int(program.stage)})")
        elif args.action == "prescribe":
            from gmi_vr.app.patients import parse_dose

            doses = {task: parse_dose(task, getattr(args, task))
                     for task in ("laterality", "imagery", "mirror") if getattr(args, task) is not None}  # fmt: skip
            program = app.prescribe_practice(store, args.id, doses, stage=args.stage, next_step=args.next_step,
                                             therapist=_therapist(args, store), reason=args.reason)  # fmt: skip
            stage = args.stage or int(program.stage)
            print(f"patient {args.id}: practice between visits at stage {stage}: "
                  f"{_practice_line(program, stage)} (in the audit trail)")  # fmt: skip
        elif args.action == "progress":
            _patients_progress(store, args)
        elif args.action == "rename":
            _patients_rename(store, args)
        elif args.action == "erase":
            _patients_erase(store, args)
        elif args.action == "desensitization":
            _patients_desensitization(store, args)
    finally:
        store.close()
    return 0


def _patients_desensitization(store: SessionStore, args: argparse.Namespace) -> None:
    """Record a graded desensitization exposure, or list the hierarchy and the exposures."""
    from datetime import UTC, datetime

    from gmi_vr.app.desensitization import add_exposure, desensitization_log

    if args.what == "add":
        info = add_exposure(store, args.id, args.texture, minutes=args.minutes, station=args.where, on=args.on,
                            today=datetime.now(UTC).date(), therapist=_therapist(args, store))  # fmt: skip
        print(f"patient {info.patient_id}: {info.texture} (level {info.level} of {info.levels}) tolerated "
              f"{info.minutes:g} min at {info.station} on {info.exposed_on}, entered by {info.entered_by}")
        return
    log = desensitization_log(store, args.id)
    if args.json:
        print(json.dumps({"hierarchy": list(log.hierarchy), "highest_level": log.highest_level,
                          "highest_texture": log.highest_texture,
                          "exposures": [{"id": e.id, "on": e.exposed_on, "station": e.station, "minutes": e.minutes,
                                         "texture": e.texture, "level": e.level, "levels": e.levels,
                                         "entered_by": e.entered_by, "recorded_at": e.recorded_at.isoformat()}
                                        for e in log.exposures]}, indent=2))  # fmt: skip
        return
    print("hierarchy (least provoking first): "
          + ", ".join(f"{i}. {t}" for i, t in enumerate(log.hierarchy, start=1)))
    if not log.exposures:
        print(f"no exposures for {args.id} yet: record one with  "
              f"gmi-vr patients desensitization add {args.id} {log.hierarchy[0]} --minutes 3 --where home")
        return
    print(f"highest tolerated: {log.highest_texture} (level {log.highest_level} of {len(log.hierarchy)})")
    for e in log.exposures:
        print(f"{e.exposed_on}  {e.station:<6} {e.minutes:>5g} min  level {e.level}/{e.levels} {e.texture}"
              f"  by {e.entered_by}")


def _practice_line(program: Program, stage: int | None = None) -> str:
    """The stage's practice between visits in one line: "laterality 2 min x 8 a day"."""
    practice = program.practice.for_stage(program.stage if stage is None else stage)
    doses = [f"{task} {m:g} min x {t} a day" for task in practice.tasks for m, t in [practice.dose(task)]]
    return ", ".join(doses) or "none prescribed"


def _patients_progress(store: SessionStore, args: argparse.Namespace) -> None:
    """Print the progression proposal with its reason and evidence, or record the decision."""
    from gmi_vr.review.progress import decide, propose

    deciding = args.accept or args.reject or args.stage is not None
    if not deciding:
        proposal = propose(store, args.id)
        if args.json:
            print(json.dumps(proposal.to_dict(), indent=2))
            return
        print(f"patient {args.id}: stage {int(proposal.current_stage)} -> proposed "
              f"{int(proposal.proposed_stage)} ({proposal.decision.value}, rule {proposal.rule})")
        print(f"reason: {proposal.reason}")
        for key, value in proposal.evidence.items():
            print(f"evidence {key}: {json.dumps(value)}")
        print("decide with --accept, --reject or --stage N, and --reason TEXT")
        return
    if not args.reason or not args.reason.strip():
        raise GmiError("Say why with --reason TEXT; the decision is kept in the audit trail.")
    program = decide(store, args.id, _therapist(args, store), accept=args.accept,
                     override_stage=args.stage, reason=args.reason)  # fmt: skip
    outcome = "overridden" if args.stage is not None else "accepted" if args.accept else "rejected"
    print(f"patient {args.id}: proposal {outcome}, now at stage {int(program.stage)}")


def _patients_rename(store: SessionStore, args: argparse.Namespace) -> None:
    """Correct a mistyped patient id everywhere, audited."""
    from gmi_vr.app import rename_patient

    moved = rename_patient(store, args.old, args.new, therapist=_therapist(args, store), reason=args.reason,
                           forget_old=args.forget_old)  # fmt: skip
    words = {"pain_ratings": "pain ratings", "audit": "audit entries"}
    counts = ", ".join(f"{words.get(table, table)} {n}" for table, n in moved.items() if n)
    print(f"patient {args.old} is now {args.new} (records moved: {counts or 'none'}; the rename is in the audit trail)")


def _patients_erase(store: SessionStore, args: argparse.Namespace) -> None:
    """Erase a patient who withdrew consent: every record of them, audited without naming them."""
    if not args.reason.strip():
        raise GmiError("Say why with --reason TEXT (e.g. 'consent withdrawn'); it is kept in the audit trail.")
    erased = store.erase_patient(args.id, actor=_therapist(args, store), reason=args.reason.strip())
    rows = sum(erased.rows_removed.values())
    print(f"erased patient {args.id}: {_counted(erased.sessions, 'session')} and {_counted(rows, 'record')} removed "
          f"from {store.label}; the audit trail keeps that an erasure happened, not whom it was of")  # fmt: skip
    if not erased.checkpointed:
        print("gmi-vr: another program had the store open, so the freed space is zeroed only once it closes; "
              "run the erase again after closing other gmi-vr windows to be sure.", file=sys.stderr)  # fmt: skip
    print("not reached: files already exported (BIDS, CSV, FHIR, reports), backups and copies elsewhere; "
          "delete those where they are kept.")  # fmt: skip


def _cmd_backup(args: argparse.Namespace) -> int:
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording.backup import backup_postgres, backup_sqlite

    settings = load_settings()
    out = Path(args.out).expanduser()
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        backup_postgres(settings.database_url, out)
        print(f"backed up {settings.database_url.split('://')[0]} store into {out} (restore with pg_restore)")
        return 0
    source = settings.database_file
    if settings.database_url:
        from sqlalchemy import make_url

        source = Path(make_url(settings.database_url).database or "")
    info = backup_sqlite(source, out)
    from gmi_vr.recording import cipher

    sealed = "encrypted with the store's passphrase, " if cipher.is_encrypted_store(source) else ""
    print(f"backed up {source} into {out}: {_counted(info.patients, 'patient')}, {_counted(info.sessions, 'session')}, "
          f"schema {info.revision} "
          f"({sealed}only this account can read it; keep it as safe as the store)")  # fmt: skip
    return 0


def _counted(n: int, word: str) -> str:
    """"1 session", "2 sessions": a count as a person writes it."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _cmd_restore(args: argparse.Namespace) -> int:
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording.backup import restore_sqlite
    from gmi_vr.recording.store import SessionStore, known_revisions

    settings = load_settings()
    if settings.database_url:
        raise GmiError("The configured store is a database URL; restore a PostgreSQL backup with pg_restore "
                       "into an empty database, or leave database_url out to restore into a data folder.")  # fmt: skip
    target = restore_sqlite(Path(args.file).expanduser(), settings.data_dir, known_revisions())
    with SessionStore.open(target, create=False) as store:  # upgrades an older schema, recovers
        patients, sessions = len(store.list_patients()), len(store.list_sessions())
        interrupted = store.recovered_sessions
    print(f"restored {args.file} into {target}: {_counted(patients, 'patient')}, {_counted(sessions, 'session')}"
          + (f" (sessions {', '.join(map(str, interrupted))} were recording at the backup: marked interrupted)"
             if interrupted else ""))  # fmt: skip
    return 0


def _patient_summary(store: SessionStore, patient_id: str) -> dict[str, object]:
    from gmi_vr.app import patient_age_band, patient_program

    patient = store.patient(patient_id)
    program = patient_program(store, patient_id)
    return {
        "id": patient.id,
        "affected_side": patient.affected_side,
        "body_part": patient.body_part,
        "age_band": patient_age_band(patient, program),
        "stage": int(program.stage),
        "sessions": len(store.list_sessions(patient.id)),
    }


def _parse_assignment(text: str) -> tuple[str, object]:
    """``path=value`` with a JSON value (numbers, true/false, quoted strings) or a bare word."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise ProgramError(f"'{text}' is not a setting: write it as path=value, e.g. safety.session_cap_s=480.")
    try:
        value: object = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return path.strip(), value


def _cmd_outcomes(args: argparse.Namespace) -> int:
    """Enter, list or describe outcome measures."""
    from gmi_vr.therapy.results.questionnaires import INSTRUMENTS, instrument

    if args.action == "items":
        for inst in [instrument(args.instrument)] if args.instrument else INSTRUMENTS.values():
            print(f"{inst.name}: {inst.title} ({inst.source}; {inst.when})")
            for item in inst.items:
                print(f"  {item.name}={item.values or f'{item.low}..{item.high}'}  {item.text}")
        return 0
    store = _open_store()
    try:
        if args.action == "add":
            from gmi_vr.app.outcome_entry import add_outcome

            items = dict(_parse_item(text) for text in args.items)
            info = add_outcome(store, args.id, args.instrument, items, therapist=_therapist(args),
                               phase=args.phase, session_id=args.session)  # fmt: skip
            total = "no total" if info.score is None else f"score {info.score:g}"
            extra = ", ".join(f"{k} {v}" for k, v in info.details.items() if not isinstance(v, list))
            print(f"patient {info.patient_id}: {info.instrument} {total}" + (f" ({extra})" if extra else "")
                  + f", entered by {info.entered_by} (outcome {info.id})")
        else:
            store.patient(args.id)
            outcomes = store.outcomes(args.id, instrument=args.instrument)
            if args.json:
                print(json.dumps([{"id": o.id, "recorded_at": o.recorded_at.isoformat(), "instrument": o.instrument,
                                   "phase": o.phase, "session_id": o.session_id, "score": o.score,
                                   "items": o.items, "details": o.details, "entered_by": o.entered_by}
                                  for o in outcomes], indent=2))  # fmt: skip
            elif not outcomes:
                print(f"no outcomes for {args.id} yet: enter one with  gmi-vr outcomes add {args.id} pgic value=4")
            for o in outcomes if not args.json else ():
                total = "-" if o.score is None else f"{o.score:g}"
                print(f"{o.recorded_at:%Y-%m-%d %H:%M}  {o.instrument:<9} {total:>7}  {o.phase or '':<7} "
                      f"session {o.session_id or '-'}  by {o.entered_by}"
                      + (f"  site {o.items['site']}" if o.instrument == "two_point" else ""))
    finally:
        store.close()
    return 0


def _parse_item(text: str) -> tuple[str, str]:
    """``name=value`` of an outcome item (a PSFS activity may contain spaces)."""
    name, sep, value = text.rpartition("=")
    if not sep or not name.strip():
        raise GmiError(f"'{text}' is not an item: write it as name=value, e.g. value=3 (see gmi-vr outcomes items).")
    return name.strip(), value.strip()


def _cmd_sessions(args: argparse.Namespace) -> int:
    from gmi_vr.recording.listing import format_sessions, session_rows, sessions_json

    if args.action not in (None, "list"):
        raise GmiError(f"gmi-vr sessions lists sessions: all of them, or one patient's with "
                       f"--patient {args.action}.")  # fmt: skip
    store = _open_store()
    try:
        rows = session_rows(store, args.patient)
        if not rows and not args.json:  # as 'patients list' says it: what there is, and the next step
            whose = f" of {args.patient}" if args.patient else ""
            patient = args.patient or "ID"
            print(f"no sessions{whose} yet: run one with  gmi-vr run --patient {patient}  (--sim without a headset)")
        else:
            print(sessions_json(rows) if args.json else format_sessions(rows))
    finally:
        store.close()
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from gmi_vr.recording.export import export_session

    if args.patients is not None or args.all:
        return _export_study(args)
    if args.session is None:
        raise GmiError("Name a session to export, or --patients P1,P2 or --all for a whole study (--format bids).")
    store = _open_store()
    try:
        actor = _therapist(args, store, "export")
        if store.writable:
            store.audit(actor, "session.export", session_id=args.session, details={"format": args.format})
        for path in export_session(store, args.session, args.format, Path(args.out), shift_days=args.shift_dates):
            print(path)
    finally:
        store.close()
    _say_not_encrypted(store, Path(args.out))
    return 0


def _say_not_encrypted(store: SessionStore, written: Path) -> None:
    """Files made from an encrypted store (exports, bundles, reports) are plain files: one
    line on stderr says so and where they are, so that a clinician does not take them as safe."""
    if store.encrypted:
        print(f"gmi-vr: not encrypted: {written} (the session store is); keep it on an encrypted disk "
              f"or delete it once it has served.", file=sys.stderr)  # fmt: skip


def _export_study(args: argparse.Namespace) -> int:
    """``gmi-vr export --format bids --patients P1,P2 | --all --out DIR``: the changed files on
    stdout (none when the dataset was up to date), a summary and what was left out on stderr."""
    from gmi_vr.recording.export import ExportError, export_study, plan_study

    if args.session is not None:
        raise GmiError(f"Give either session {args.session} or {'--all' if args.all else '--patients'}, not both.")
    if args.format != "bids":
        raise ExportError("--patients and --all export a whole study as BIDS (--format bids); CSV and FHIR export one session.")
    ids = None if args.all else [p.strip() for p in args.patients.split(",") if p.strip()]
    if ids == []:
        raise GmiError("--patients needs patient ids separated by commas, for example --patients P001,P002.")
    store = _open_store()
    try:
        actor = _therapist(args, store, "export")
        plan = plan_study(store, ids)
        if store.writable:
            for session in plan.sessions:
                store.audit(actor, "session.export", patient_id=session.patient_id, session_id=session.id,
                            details={"format": "bids", "study": True})  # fmt: skip
        done = export_study(store, plan, Path(args.out), shift_days=args.shift_dates)
    finally:
        store.close()
    for path in done.changed:
        print(path)
    for session, why in plan.left_out:
        print(f"gmi-vr: session {session.id} of {session.patient_id} {why}, so it is not in the dataset.", file=sys.stderr)
    print(f"gmi-vr: {done.root} holds {len(done.subjects)} subject(s) and {len(done.sessions)} session(s) from this "
          f"store; {len(done.changed)} file(s) written or updated.", file=sys.stderr)  # fmt: skip
    _say_not_encrypted(store, done.root)
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    """Home practice to the clinic (``export --patient``, ``import`` there), the program home
    (``export --program``, ``import`` there): ``recording.bundle``."""
    if args.action == "export":
        _bundle_export(args)
    else:
        _bundle_import(args)
    return 0


def _bundle_export(args: argparse.Namespace) -> None:
    from gmi_vr.recording import bundle

    if args.all and args.program:
        raise GmiError("--all is for home practice (--patient ID); a program bundle always holds the current program.")
    out = Path(args.out).expanduser()
    store = _open_store()
    try:
        actor = _therapist(args, store, "export")
        if args.program:
            bundle.export_program(store, args.program, out, actor=actor, app_version=__version__)
            print(f"wrote the program of {args.program} into {out}; on the home machine: gmi-vr bundle import {out}")
            _say_not_encrypted(store, out)
            return
        done = bundle.export_practice(store, args.patient, out, actor=actor, app_version=__version__,
                                      everything=args.all)  # fmt: skip
    finally:
        store.close()
    n = done.counts.sessions
    print(f"bundled {n} home practice session{'' if n == 1 else 's'} of {args.patient} "
          f"({done.counts.describe()}) into {out}; at the clinic: gmi-vr bundle import {out}")  # fmt: skip
    _say_not_encrypted(store, out)


def _bundle_import(args: argparse.Namespace) -> None:
    from gmi_vr.recording import bundle

    path = Path(args.file).expanduser()
    with bundle.open_bundle(path) as (manifest, contents):
        # A program bundle sets up a home machine, which may have no store yet; practice goes
        # into a clinic's existing store only (a mistyped GMI_VR_DATA must not look empty).
        store = _open_store(create=manifest.kind == "program")
        try:
            actor = _therapist(args, store)
            if manifest.kind == "program":
                program = bundle.import_program(store, manifest, contents, path, actor=actor)
            else:
                practice = bundle.import_practice(store, manifest, contents, path, actor=actor)
        finally:
            store.close()
    if manifest.kind == "program":
        if program.created:
            print(f"added patient {program.patient_id} to this machine with "
                  f"{', '.join(program.changes) or 'no program'} from {path}")  # fmt: skip
        elif program.changes:
            print(f"updated patient {program.patient_id} from {path}: {', '.join(program.changes)}")
        else:
            print(f"patient {program.patient_id} is already as {path} has it; nothing changed")
        return
    n, here = len(practice.added), len(practice.already_here)
    if not n:
        print(f"nothing new: the {here} home practice session{'' if here == 1 else 's'} of {practice.patient_id} "
              f"in {path} {'is' if here == 1 else 'are'} already here; nothing changed")  # fmt: skip
        return
    print(f"added {n} home practice session{'' if n == 1 else 's'} of {practice.patient_id} "
          f"({practice.counts.describe()})" + (f"; {here} already here" if here else ""))  # fmt: skip


def _cmd_replay(args: argparse.Namespace) -> int:
    from gmi_vr.app import run_replay

    store = _open_store()
    try:
        run_replay(store, args.session, max_frames=args.max_frames)
    finally:
        store.close()
    return 0


class StderrProgress:
    """A one-line progress bar on stderr, shown only once the work has taken a second (a
    quick report prints nothing but its path)."""

    def __init__(self, delay_s: float = 1.0, clock: Callable[[], float] | None = None) -> None:
        import time

        self._clock = clock or time.monotonic
        self._start = self._clock()
        self._delay_s = delay_s
        self.shown = False

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.shown and self._clock() - self._start < self._delay_s:
            return
        self.shown = True
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\r{step:<20} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _cmd_report(args: argparse.Namespace) -> int:
    from gmi_vr.review.figures_data import parse_day
    from gmi_vr.review.report import check_output, write_patient_report, write_session_report
    from gmi_vr.review.report_errors import ReportError

    if (args.patient is None) == (args.session is None):
        raise ReportError("Name a patient (gmi-vr report P001) or one session (gmi-vr report --session 12), not both.")
    since, until = parse_day(args.date_from, "--from"), parse_day(args.date_to, "--to")
    if args.session is not None and (since or until):
        raise ReportError("--from and --to choose a patient's sessions; leave them out with --session.")
    default = f"gmi-vr-report-{args.patient}.html" if args.session is None else f"gmi-vr-session-{args.session}.html"
    out = Path(args.out or default).expanduser()
    check_output(out)  # before the store opens and the sign-in: a wrong name fails first
    store = _open_store()
    progress = StderrProgress()
    try:
        # A report carries the patient's records out of the store, as an export does: the same
        # permission, and an audit entry naming who made it (before it is written, as for an export).
        actor = _therapist(args, store, "export")
        patient_id = store.session(args.session).patient_id if args.session is not None else store.patient(args.patient).id
        if store.writable:
            store.audit(actor, "report.write", patient_id=patient_id, session_id=args.session,
                        details={"format": out.suffix.lstrip(".").lower(), "from": args.date_from, "to": args.date_to})
        if args.session is not None:
            written = write_session_report(store, args.session, out, progress)
        else:
            written = write_patient_report(store, args.patient, out, since, until, progress)
    finally:
        progress.close()
        store.close()
    print(written)
    _say_not_encrypted(store, written)
    return 0


def _store_file() -> Path:
    """The SQLite file of the configured store (``store check`` and ``repair`` read files)."""
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording import store_location

    url = load_settings().database_url
    if url:
        raise GmiError(f"'gmi-vr store' checks SQLite files; the configured store is {url.split('://')[0]}: "
                       f"use its server's own tools, or name a file with --file.")  # fmt: skip
    return store_location.default_database_path()


def _cmd_store(args: argparse.Namespace) -> int:
    from gmi_vr.core.errors import StorageError
    from gmi_vr.recording import health

    path = Path(args.file).expanduser() if args.file else _store_file()
    if args.action == "encrypt":
        return _store_encrypt(path, args.keyring)
    if args.action == "check":
        report = health.check_store(path)
        for table, count in report.rows.items():
            print(f"{table:>16}: {count} rows")
        if report.ok:
            print(f"ok: {path} (SQLite's integrity_check found no problem)")
            return 0
        for problem in report.problems:
            print(f"problem: {problem}")
        count = len(report.problems)
        raise StorageError(
            f"The session store {path} is damaged (SQLite's integrity_check found {count} "
            f"problem{'s' if count != 1 else ''}, listed above); recover what can be read with "
            f"'gmi-vr store repair --out NEWFILE'."
        )
    repaired = health.repair_store(path, Path(args.out).expanduser())
    for recovery in repaired.tables:
        print(recovery.describe())
    if repaired.out_problems:
        raise StorageError(f"The recovered store {repaired.out} still fails SQLite's integrity_check "
                           f"({repaired.out_problems[0]}); restore from a backup instead.")  # fmt: skip
    outcome = "everything was recovered" if repaired.complete else "the rows listed as lost could not be read"
    from gmi_vr.recording import cipher

    marker = cipher.marker_path(repaired.out)
    sealed = f" (encrypted: with {marker.name} beside it as sessions.sqlite-encrypted)" if marker.exists() else ""
    print(f"recovered into {repaired.out} ({outcome}; {path} was left unchanged); to use it, "
          f"name it sessions.sqlite in a folder of its own{sealed} and point GMI_VR_DATA at that folder")
    return 0


def _store_encrypt(path: Path, keep_in_keyring: bool) -> int:
    """``gmi-vr store encrypt``: the plaintext store converted safely (``recording/encrypt.py``)."""
    import getpass

    from gmi_vr.core.errors import StorageError
    from gmi_vr.recording import cipher, store_lock
    from gmi_vr.recording.encrypt import encrypt_store
    from gmi_vr.recording.store import SessionStore

    if path.is_file() and cipher.is_encrypted_store(path):
        if keep_in_keyring:
            cipher.save_in_keyring(cipher.require_passphrase(path))
            print(f"{path} is already encrypted; its passphrase is now kept in this account's OS keyring")
        else:
            print(f"{path} is already encrypted; nothing was changed")
        return 0
    with SessionStore.open(path, create=False) as store:  # checks, upgrades and recovers it first
        running = [session.id for session in store.list_sessions() if session.status == "running"]
    if running:
        raise StorageError(f"Session {running[0]} is recording into {path}; encrypt the store after it ends (nothing was changed).")
    with store_lock.exclusive(path):
        pass  # another program has it open: refused now, before the passphrase is typed (encrypt_store takes it again)
    secret = cipher.passphrase(ask=False)  # $GMI_VR_STORE_PASSPHRASE, else one already in the keyring
    if secret is None and sys.stdin.isatty():
        secret = getpass.getpass("New passphrase for the session store: ")
        if secret != getpass.getpass("The same passphrase again: "):
            raise GmiError("The two passphrases differ; nothing was changed: run 'gmi-vr store encrypt' again.")
    if not secret or len(secret) < cipher.MIN_PASSPHRASE:
        raise GmiError(f"Encrypting needs a passphrase of at least {cipher.MIN_PASSPHRASE} characters, typed when asked "
                       f"or in {cipher.PASSPHRASE_ENV}; nothing was changed.")  # fmt: skip
    if keep_in_keyring:
        cipher.save_in_keyring(secret)
    info = encrypt_store(path, secret)
    where = ("this account's OS keyring holds the passphrase" if keep_in_keyring
             else f"the passphrase is asked at each start (or read from {cipher.PASSPHRASE_ENV})")  # fmt: skip
    print(f"encrypted {path}: {sum(n for t, n in info.rows.items() if t != 'sqlite_sequence')} rows in "
          f"{len(info.rows)} tables checked, schema {info.revision}; the plaintext file was overwritten and removed; "
          f"{where}: without it the store cannot be read")  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gmi-vr",
        description="Virtual-reality Graded Motor Imagery and mirror therapy.",
    )
    parser.add_argument("--version", action="version", version=f"gmi-vr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser(
        "doctor", help="check Python, OpenGL, the OpenXR loader and runtime, the headset and controllers"
    )
    doctor.add_argument("--verbose", action="store_true",
                        help="also the session's details and the OpenXR loader's own messages")  # fmt: skip
    doctor.set_defaults(func=_cmd_doctor)

    run = sub.add_parser("run", help="run a session in the headset (or the simulator with --sim)")
    run.add_argument("--sim", action="store_true", help="use the built-in desktop simulator")
    run.add_argument(
        "--motion", type=Path, help="drive the simulator from a scripted motion file (implies --sim)"
    )
    run.add_argument("--every-frame", action="store_true",
                     help="with --motion: step every frame of the file however slow the drawing (a reproducible "
                          "run; its session clock then falls behind the wall clock)")
    run.add_argument("--patient", help="run this patient's session plan (see gmi-vr patients)")
    run.add_argument("--hands", action="store_true",
                     help="a hand without a controller is read from hand tracking: pinch to answer, "
                          "an open palm shown for a second stops (headset only)")  # fmt: skip
    run.add_argument("--no-record", action="store_true",
                     help=f"run the patient's session WITHOUT saving it (audited; exit status {EXIT_NOT_RECORDED})")
    run.add_argument("--by", help="who runs the session: the console's actions are audited as this "
                                  "therapist (default: the logged-in user)")
    run.add_argument("--lsl", action="store_true",
                     help="stream motion, events and pain ratings live over the Lab Streaming Layer "
                          "(for a lab's LabRecorder; see docs/research.md)")
    run.add_argument("--lsl-wait", type=float, default=None, metavar="SECONDS",
                     help="with --lsl: wait up to SECONDS for a recorder to connect before the run starts")
    run.add_argument("--max-frames", type=int, default=None, help=argparse.SUPPRESS)
    run.set_defaults(func=_cmd_run)

    practice = sub.add_parser(
        "practice", help="practise at home without a headset: the patient's program in a desktop window"
    )
    practice.add_argument("--patient", required=True, help="the patient's pseudonymous id")
    practice.add_argument("--screenshot", help="save the window's last picture as a PNG")
    practice.add_argument("--by", help="who practises, for the records (default: the logged-in user)")
    practice.add_argument("--max-frames", type=int, default=None, help=argparse.SUPPRESS)
    practice.set_defaults(func=_cmd_practice)

    calibrate = sub.add_parser(
        "calibrate", help="measure the patient's body with a short guided pose, one-handed"
    )
    calibrate.add_argument("patient", help="the patient's pseudonymous id")
    calibrate.add_argument("--standing", action="store_true", help="standing instead of seated")
    calibrate.add_argument("--sim", action="store_true", help="on the desktop simulator")
    calibrate.add_argument("--motion", type=Path, help="the simulator driven by a motion file (implies --sim)")
    calibrate.add_argument("--by", help="who calibrates (default: the logged-in user)")
    calibrate.set_defaults(func=_cmd_calibrate)

    demo = sub.add_parser(
        "demo", help="a short scripted run on the simulator, saved as pictures (no headset needed)"
    )
    demo.add_argument("--out", default="gmi-vr-demo", help="folder for the pictures (default: %(default)s)")
    demo.add_argument("--motion", type=Path, help="a scripted motion file instead of the built-in one")
    demo.add_argument("--patient", help="play and record a whole session of this patient "
                      "(the sample answers a new patient's stage-1 session)")  # fmt: skip
    demo.set_defaults(func=_cmd_demo)

    patients = sub.add_parser("patients", help="add, list, show, edit and rename patients (pseudonymous ids only)")
    patients_sub = patients.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = patients_sub.add_parser("add", help="add a patient with the default program")
    add.add_argument("id", help="pseudonymous id: letters, digits, '-', '_' (never a name, e-mail or date)")
    add.add_argument("--side", required=True, choices=["left", "right"], help="the affected (painful) side")
    add.add_argument("--part", default="hand", choices=["hand", "foot", "shoulder", "back_neck"],
                     help="the affected body part (default: %(default)s)")  # fmt: skip
    age = add.add_mutually_exclusive_group()
    age.add_argument("--age", type=int, help="age in years, kept only as its ten-year band (laterality norms depend on age)")
    age.add_argument("--age-band", help="age band instead of an age, e.g. 60-69 or 90+")
    add.add_argument("--by", help="who adds the patient (default: the logged-in user)")
    listing = patients_sub.add_parser("list", help="list patients")
    listing.add_argument("--json", action="store_true")
    show = patients_sub.add_parser("show", help="a patient's program and progress")
    show.add_argument("id")
    show_as = show.add_mutually_exclusive_group()
    show_as.add_argument("--json", action="store_true")
    show_as.add_argument("--handout", metavar="FILE",
                      help="write the patient's one-page practice handout instead (.html or .pdf)")  # fmt: skip
    edit = patients_sub.add_parser("edit", help="override program settings (recorded in the audit trail)")
    edit.add_argument("id")
    edit.add_argument("--set", action="append", required=True, metavar="PATH=VALUE",
                      help="e.g. --set stage=2 --set safety.session_cap_s=480")  # fmt: skip
    edit.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    edit.add_argument("--by", help="who changes it (default: the logged-in user)")
    prescribe = patients_sub.add_parser(
        "prescribe", help="what to practise between visits, per stage (recorded in the audit trail)"
    )
    prescribe.add_argument("id")
    prescribe.add_argument("--stage", type=int, choices=[1, 2, 3, 4], help="the stage (default: the current one)")
    for task, words in (("laterality", "left/right judgement"), ("imagery", "explicit motor imagery"),
                        ("mirror", "mirror-box practice")):  # fmt: skip
        prescribe.add_argument(f"--{task}", metavar="MINxTIMES",
                               help=f"{words}: minutes each time x times a day, e.g. 2x8; 0 for none")  # fmt: skip
    prescribe.add_argument("--next-step", help="the clinic's next step, printed on the handout (e.g. the next visit)")
    prescribe.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    prescribe.add_argument("--by", help="who prescribes (default: the logged-in user)")
    progress = patients_sub.add_parser(
        "progress", help="the stage proposal after the last sessions; accept, reject or override it"
    )
    progress.add_argument("id")
    choice = progress.add_mutually_exclusive_group()
    choice.add_argument("--accept", action="store_true", help="accept the proposed stage")
    choice.add_argument("--reject", action="store_true", help="keep the current stage")
    choice.add_argument("--stage", type=int, help="set this stage (1-4) instead of the proposal")
    progress.add_argument("--reason", help="why (required with a decision; kept in the audit trail)")
    progress.add_argument("--by", help="who decides (default: the logged-in user)")
    progress.add_argument("--json", action="store_true", help="print the proposal as JSON")
    rename = patients_sub.add_parser(
        "rename", help="correct a mistyped id in every record (recorded in the audit trail)"
    )
    rename.add_argument("old", help="the id as it was entered")
    rename.add_argument("new", help="the correct pseudonymous id")
    rename.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    rename.add_argument("--forget-old", action="store_true",
                        help="keep the old id nowhere, not even in the rename's audit entry (it was personal data)")  # fmt: skip
    rename.add_argument("--by", help="who renames (default: the logged-in user)")
    erase = patients_sub.add_parser(
        "erase", help="remove every record of a patient who withdrew consent (audited without naming them)"
    )
    erase.add_argument("id", help="the patient's pseudonymous id")
    erase.add_argument("--reason", required=True, help="why, without naming the patient (kept in the audit trail)")
    erase.add_argument("--by", help="who erases (default: the logged-in user)")
    desens = patients_sub.add_parser(
        "desensitization", help="graded texture desensitization: record exposures, list progress up the hierarchy"
    )
    desens_sub = desens.add_subparsers(dest="what", required=True, metavar="WHAT")
    d_add = desens_sub.add_parser("add", help="record one exposure (the texture tolerated, how long, where)")
    d_add.add_argument("id", help="the patient")
    d_add.add_argument("texture", help="the texture tolerated, from the patient's hierarchy (see: desensitization list)")
    d_add.add_argument("--minutes", type=float, required=True, help="how long the texture was rubbed")
    d_add.add_argument("--where", required=True, choices=["home", "clinic"], help="where it was done")
    d_add.add_argument("--on", metavar="YYYY-MM-DD", help="the day it was done (default: today, UTC)")
    d_add.add_argument("--by", help="who enters it (default: the logged-in user)")
    d_list = desens_sub.add_parser("list", help="the hierarchy, the highest level tolerated and every exposure")
    d_list.add_argument("id", help="the patient")
    d_list.add_argument("--json", action="store_true")
    patients.set_defaults(func=_cmd_patients)

    outcomes = sub.add_parser("outcomes", help="enter and list outcome measures (Budapest, CSS, PGIC, BPD, PSFS, SSQ, "
                                               "two-point discrimination)")
    outcomes_sub = outcomes.add_subparsers(dest="action", required=True, metavar="ACTION")
    o_add = outcomes_sub.add_parser("add", help="enter one outcome measure (kept with the time and who)")
    o_add.add_argument("id", help="the patient")
    o_add.add_argument("instrument", help="budapest, css, pgic, bpd, psfs, ssq or two_point (see: outcomes items)")
    o_add.add_argument("items", nargs="+", metavar="NAME=VALUE", help="the item values, e.g. value=3")
    o_add.add_argument("--phase", help="intake, visit, before or after (a session)")
    o_add.add_argument("--session", type=int, help="the session it belongs to (the SSQ before or after it)")
    o_add.add_argument("--by", help="who enters it (default: the logged-in user)")
    o_list = outcomes_sub.add_parser("list", help="a patient's outcome measures, oldest first")
    o_list.add_argument("id")
    o_list.add_argument("--instrument", help="only this instrument")
    o_list.add_argument("--json", action="store_true")
    o_items = outcomes_sub.add_parser("items", help="the instruments and their items")
    o_items.add_argument("instrument", nargs="?")
    outcomes.set_defaults(func=_cmd_outcomes)

    sessions = sub.add_parser("sessions", help="list recorded sessions")
    # 'gmi-vr sessions list' works as 'patients list' and 'outcomes list' do.
    sessions.add_argument("action", nargs="?", metavar="list", help="the listing (the default)")
    sessions.add_argument("--patient", help="only this patient's sessions")
    sessions.add_argument("--json", action="store_true", help="print JSON for scripts")
    sessions.set_defaults(func=_cmd_sessions)

    export = sub.add_parser("export", help="export a session for research (BIDS), spreadsheets (CSV) or records (FHIR), "
                            "or a whole study as one BIDS dataset")  # fmt: skip
    export.add_argument("session", type=int, nargs="?", help="session number (see gmi-vr sessions)")
    study = export.add_mutually_exclusive_group()
    study.add_argument("--patients", metavar="P1,P2",
                       help="BIDS: every session of these patients as one dataset (again later: adds new sessions)")  # fmt: skip
    study.add_argument("--all", action="store_true", help="BIDS: every session of every patient as one dataset")
    export.add_argument("--format", required=True, choices=["bids", "csv", "fhir"])
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--shift-dates", type=int, default=0, metavar="DAYS",
                        help="BIDS: move every date by DAYS days (the same for a whole dataset) to de-identify it")  # fmt: skip
    export.set_defaults(func=_cmd_export)

    report = sub.add_parser(
        "report", help="a patient's progress report (HTML, or PDF with --out FILE.pdf), or one session's"
    )
    report.add_argument("patient", nargs="?", help="the patient's pseudonymous id")
    report.add_argument("--session", type=int, help="one session in detail instead (see gmi-vr sessions)")
    report.add_argument("--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD, UTC) of the period")
    report.add_argument("--to", dest="date_to", metavar="DATE", help="last day (YYYY-MM-DD, UTC) of the period")
    report.add_argument("--out", metavar="FILE",
                        help="the report file: .html (default gmi-vr-report-ID.html) or .pdf")  # fmt: skip
    report.set_defaults(func=_cmd_report)

    replay = sub.add_parser("replay", help="watch a recorded session in the desktop window")
    replay.add_argument("session", type=int, help="session number (see gmi-vr sessions)")
    replay.add_argument("--max-frames", type=int, default=None, help=argparse.SUPPRESS)
    replay.set_defaults(func=_cmd_replay)

    bundle = sub.add_parser("bundle", help="carry home practice to the clinic, and the patient's program home")
    bundle_sub = bundle.add_subparsers(dest="action", required=True, metavar="ACTION")
    b_export = bundle_sub.add_parser("export", help="write a bundle file: home practice (--patient) or the program (--program)")
    what = b_export.add_mutually_exclusive_group(required=True)
    what.add_argument("--patient", metavar="ID", help="at home: the patient's practice sessions since the last bundle")
    what.add_argument("--program", metavar="ID", help="at the clinic: the patient, current program and calibration, for home")
    b_export.add_argument("--out", required=True, metavar="FILE", help="the new bundle file (must not exist)")
    b_export.add_argument("--all", action="store_true", help="every home practice session, bundled before or not")
    b_export.add_argument("--by", help="who exports (default: the logged-in user)")
    b_import = bundle_sub.add_parser("import", help="merge a bundle: practice at the clinic, the program at home")
    b_import.add_argument("file", help="the bundle file")
    b_import.add_argument("--by", help="who imports (default: the logged-in user)")
    bundle.set_defaults(func=_cmd_bundle)

    store = sub.add_parser("store", help="check the session store, recover a damaged one into a new file, or encrypt it")
    store_sub = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = store_sub.add_parser("check", help="SQLite's integrity_check of the store; exit 0 only when healthy")
    check.add_argument("--file", help="a store file instead of the data folder's sessions.sqlite")
    repair = store_sub.add_parser("repair", help="copy what can be read into a NEW file (the damaged one is left unchanged)")
    repair.add_argument("--out", required=True, help="the new file (must not exist)")
    repair.add_argument("--file", help="a store file instead of the data folder's sessions.sqlite")
    encrypt = store_sub.add_parser("encrypt", help="encrypt the store at rest (SQLCipher), keyed with a passphrase")
    encrypt.add_argument("--keyring", action="store_true", help="keep the passphrase in this account's OS keyring")
    encrypt.add_argument("--file", help="a store file instead of the data folder's sessions.sqlite")
    store.set_defaults(func=_cmd_store)

    backup = sub.add_parser("backup", help="copy the session store into a new file, also while a session records")
    backup.add_argument("--out", required=True, help="the new backup file (must not exist)")
    backup.set_defaults(func=_cmd_backup)
    restore = sub.add_parser("restore", help="bring a backup back into an empty data folder")
    restore.add_argument("file", help="the backup file")
    restore.set_defaults(func=_cmd_restore)

    users = sub.add_parser("users", help="accounts: one per person, with a role (admin, therapist, researcher)")
    users_sub = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    user_add = users_sub.add_parser("add", help="add an account (the first one, an admin, needs no sign-in)")
    user_add.add_argument("name", help="the person's account name, as the audit trail will show it")
    user_add.add_argument("--role", required=True, choices=["admin", "therapist", "researcher"],
                          help="admin: everything and accounts; therapist: records; researcher: exports only")  # fmt: skip
    user_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    users_sub.add_parser("list", help="the accounts and their roles")
    users.set_defaults(func=_cmd_users)
    signin = sub.add_parser("signin", help="sign in once for scripts: prints a token to put in GMI_VR_TOKEN")
    signin.add_argument("name", help="the account name")
    signin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    signin.set_defaults(func=_cmd_signin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.func
    # Everything this command writes (exports, reports, backups, logs) is for this account only:
    # health data must not become readable by others through a permissive umask.
    previous_umask = os.umask(0o077)
    os.umask(previous_umask | 0o077)
    from gmi_vr.recording import cipher

    cipher.set_asker(cipher.terminal_asker)  # an encrypted store's passphrase, asked once per start
    handlers = _end_on_system_signals()
    try:
        return command(args)
    except GmiError as error:
        print(f"gmi-vr: {error}", file=sys.stderr)
        return error.exit_code
    except Terminated:
        print("gmi-vr: ended at the system's request (a shutdown, a logout or a stop signal).", file=sys.stderr)
        return 143  # 128 + SIGTERM, as a shell reports a process it ended
    except KeyboardInterrupt:
        print("gmi-vr: stopped.", file=sys.stderr)
        return 130
    finally:
        os.umask(previous_umask)
        for number, handler in handlers.items():
            signal.signal(number, handler)


def _end_on_system_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise ``Terminated`` in the main thread, as Ctrl-C raises
    KeyboardInterrupt: without this they end the process at once, and a session running then
    would be found "running" and marked interrupted at the next start, its last half-second of
    motion and its outcome lost. Returns the handlers replaced (none off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def end(number: int, frame: Any) -> None:
        for other in replaced:  # once: a second request must not cut the saving short
            signal.signal(other, signal.SIG_IGN)
        raise Terminated

    replaced: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        number = getattr(signal, name, None)
        # A signal ignored on purpose stays ignored: 'nohup gmi-vr run' outlives its terminal.
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            replaced[number] = signal.signal(number, end)
    return replaced


if __name__ == "__main__":
    sys.exit(main())
