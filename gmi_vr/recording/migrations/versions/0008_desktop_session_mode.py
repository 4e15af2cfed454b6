"""sessions.mode "desktop" for the sessions that did not run in the headset

Before this revision a patient's session on the desktop simulator (``gmi-vr run --sim``, or
a motion file) was stored as mode "headset": the review counted it as a headset visit, and a
research export said it ran in virtual reality. Its frame source (``source``) always said how
it ran, and only the headset's is "openxr"; this revision sets the mode of the others from
it. Home practice (source "desktop") was stored as "desktop" already.
"""

from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0007'


def upgrade() -> None:
    op.execute("UPDATE sessions SET mode = 'desktop' WHERE mode = 'headset' AND source <> 'openxr'")


def downgrade() -> None:
    # What gmi-vr before this revision wrote: "desktop" for home practice alone.
    op.execute("UPDATE sessions SET mode = 'headset' WHERE mode = 'desktop' AND source NOT IN ('openxr', 'desktop')")
