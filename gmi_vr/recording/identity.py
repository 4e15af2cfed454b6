"""What the records may know of a patient: a pseudonymous id, its research-export label, and
an age band (never a name, a birth date or an exact age).

The id rule, checked when a patient is added or renamed (ids already stored are read as
they are):

- 1 to ``MAX_ID_LENGTH`` characters: ASCII letters, digits, ``-`` and ``_``, starting with
  a letter or a digit (``P001``, ``CRPS-017``, ``ward3_12``);
- so never a space (a name such as ``John Smith``), an ``@`` (an e-mail address), a dot or
  a slash;
- never shaped like a date: three groups of digits joined by ``-``, ``_``, ``.`` or ``/``
  (``1972-03-04``, ``04/03/1972``, ``4_3_72``), a day and a month name (``04Mar1972``,
  ``4-mar-72``), or 8 digits that are a
  valid date read as YYYYMMDD, DDMMYYYY or MMDDYYYY with a year from 1900 to this year
  (``19720304``, ``04031972``).

A name written without a space (``JohnSmith``) cannot be told from a pseudonym by its
shape; ``gmi-vr patients rename`` corrects such a mistake.

BIDS labels allow letters and digits only: the label of an id is the id without ``-`` and
``_`` (``P-001`` -> ``P001``). Two ids whose labels are equal ignoring case (``P-001`` and
``P001``; ``p001`` and ``P001``, which are one folder on a case-insensitive disk) would be
one research subject, so a new id whose label is taken is refused, and an export refuses a
store or a folder where two patients share one label (``label_clashes``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from gmi_vr.core.errors import GmiError

#: Long enough for a clinic's own numbering with a prefix (``CRPS-2026-0001``); short
#: enough to stay an id and not become a description.
MAX_ID_LENGTH = 32
GOOD_ID_EXAMPLE = "P001"

#: Band width in years. CLINICAL.md ("age": norms need age bands) gives no width; ten-year
#: bands are the usual grouping of norm tables and keep an exact age out of the records.
AGE_BAND_YEARS = 10
#: Ages from here on share one open band: few people are that old, so a narrower band would
#: come close to identifying them (the same reason BIDS suggests "89+" for ages).
OPEN_AGE_BAND_FROM = 90

_ALLOWED = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_THREE_NUMBERS = re.compile(r"\d{1,4}[-_./]\d{1,2}[-_./]\d{1,4}")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_MONTH_NAME_DATE = re.compile(rf"\d{{1,2}}[-_./]?({_MONTHS})[a-z]*[-_./]?\d{{2,4}}", re.IGNORECASE)


class PatientIdError(GmiError):
    """A patient id breaks the id rule or would be confused with another patient's."""

    exit_code = 2


def id_problem(patient_id: str) -> str | None:
    """Why ``patient_id`` breaks the id rule (a clause for a sentence), or None if it keeps it."""
    if not patient_id:
        return "it is empty"
    if any(c.isspace() for c in patient_id):
        return "it contains a space (is it a name?)"
    if "@" in patient_id:
        return "it contains '@' (is it an e-mail address?)"
    if _looks_like_a_date(patient_id):
        return "it looks like a date (is it a date of birth?)"
    if len(patient_id) > MAX_ID_LENGTH:
        return f"it is longer than {MAX_ID_LENGTH} characters"
    if not _ALLOWED.fullmatch(patient_id):
        return "only letters A-Z, digits, '-' and '_' may be used, starting with a letter or digit"
    return None


def check_patient_id(patient_id: str) -> str:
    """``patient_id`` if it keeps the id rule; otherwise ``PatientIdError`` in one sentence."""
    problem = id_problem(patient_id)
    if problem is not None:
        raise PatientIdError(
            f"'{patient_id}' cannot be a patient id: {problem}; use a pseudonym of letters, digits, "
            f"'-' and '_' such as {GOOD_ID_EXAMPLE}, never a name, e-mail address or date."
        )
    return patient_id


def _looks_like_a_date(text: str) -> bool:
    if _THREE_NUMBERS.fullmatch(text) or _MONTH_NAME_DATE.fullmatch(text):
        return True
    if len(text) == 8 and text.isdigit():
        this_year = datetime.now(UTC).year
        for year, month, day in ((text[:4], text[4:6], text[6:]), (text[4:], text[2:4], text[:2]), (text[4:], text[:2], text[2:4])):
            if 1900 <= int(year) <= this_year and _is_date(int(year), int(month), int(day)):
                return True
    return False


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def bids_label(patient_id: str) -> str:
    """The BIDS subject label of an id: its letters and digits (``P-001`` -> ``P001``)."""
    label = _letters_and_digits(patient_id)
    if not label:
        raise PatientIdError(
            f"Patient id '{patient_id}' has no letters or digits to name it in a research export; "
            f"rename it with gmi-vr patients rename to an id such as {GOOD_ID_EXAMPLE}."
        )
    return label


def label_clashes(patient_id: str, other_ids: Iterable[str]) -> list[str]:
    """The ids among ``other_ids`` (``patient_id`` itself left out) whose BIDS label equals
    ``patient_id``'s, ignoring case."""
    mine = _letters_and_digits(patient_id).casefold()
    return [other for other in other_ids if other != patient_id and _letters_and_digits(other).casefold() == mine]


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text)


def check_label_free(patient_id: str, other_ids: Iterable[str]) -> None:
    """Refuse ``patient_id`` when another patient's id has the same BIDS label."""
    clashes = label_clashes(patient_id, other_ids)
    if clashes:
        raise PatientIdError(
            f"Patient id '{patient_id}' cannot be told apart from patient {clashes[0]} in a research "
            f"export (both become sub-{bids_label(clashes[0])}); choose an id that differs in more than "
            f"case, '-' or '_'."
        )


def band_of_age(age_years: int) -> str:
    """The band an age in whole years falls in: ``54`` -> ``"50-59"``, ``93`` -> ``"90+"``."""
    if not 0 < age_years < 130:
        raise GmiError(f"Age {age_years} is not plausible; give the age in whole years (1-129).")
    if age_years >= OPEN_AGE_BAND_FROM:
        return f"{OPEN_AGE_BAND_FROM}+"
    low = age_years // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


def band_of_birth_year(birth_year: int, today: date | None = None) -> str:
    """The age band of someone born in ``birth_year`` (records made before bands were kept):
    the age they reach this year decides."""
    year = (today or datetime.now(UTC).date()).year
    return band_of_age(min(max(1, year - birth_year), 129))
