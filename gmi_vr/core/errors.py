"""User-facing failures.

Every failure a clinician or patient can meet is a ``GmiError`` whose message is one
sentence saying what happened and what to do. The CLI prints ``str(error)`` without
a traceback and exits with ``error.exit_code``.
"""

from __future__ import annotations


class GmiError(Exception):
    """Base of all user-facing errors; the message says what to do."""

    exit_code: int = 1


class XrRuntimeUnavailable(GmiError):
    """No OpenXR runtime (or no headset) is reachable."""

    exit_code = 3


class XrSessionLost(GmiError):
    """The OpenXR session was lost or the runtime went away mid-session."""

    exit_code = 4


class GraphicsUnavailable(GmiError):
    """No display, no usable OpenGL, or the runtime cannot use OpenGL."""

    exit_code = 5


class InputFileError(GmiError):
    """A file given by the user (motion script, settings, avatar) is malformed."""

    exit_code = 6


class StorageError(GmiError):
    """The session store cannot be opened or written."""

    exit_code = 7


class NotFoundError(GmiError):
    """A named patient, session or asset does not exist."""

    exit_code = 8


class ProgramError(GmiError):
    """A program setting (from the store, an override or the CLI) is invalid."""

    exit_code = 9


class AccessError(GmiError):
    """No signed-in account, a wrong password, or an account whose role may not do this."""

    exit_code = 11


class StreamingUnavailable(GmiError):
    """The Lab Streaming Layer library cannot be loaded or cannot open its outlets (``--lsl``)."""

    exit_code = 12


class Terminated(KeyboardInterrupt):
    """The system asked the process to end (SIGTERM: a shutdown, a service manager, ``kill``;
    SIGHUP: the terminal closed). The CLI's signal handler raises it in the main thread. It is
    a KeyboardInterrupt, so everything a Ctrl-C ends cleanly (a session finished and saved with
    its outcome, the store closed) ends as cleanly; ``reason`` is the session's end reason."""

    reason = "terminated"
