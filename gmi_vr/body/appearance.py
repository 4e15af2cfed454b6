"""How the patient's virtual body looks: which avatar build and which skin tone.

The generated avatars (``models/avatars/``) carry a white material; the skin tone is the
``SkinnedItem.tint`` multiplied in by the renderer, so one mesh serves every tone and a
clinic can pick the tone closest to the patient's own skin (embodiment is stronger when the
virtual limb looks like one's own). Tones are sRGB, spread over light to dark skin; they
are approximations chosen for the display, not a clinical scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gmi_vr.core.errors import InputFileError

RGBA = tuple[float, float, float, float]

#: Avatar builds shipped in models/avatars/ (MeshItem-style names without extension).
AVATAR_BUILDS: dict[str, str] = {
    "slim": "avatars/avatar_slim",
    "broad": "avatars/avatar_broad",
}

#: Skin tones, light to dark (sRGB, alpha 1).
SKIN_TONES: dict[str, RGBA] = {
    "very_light": (0.96, 0.83, 0.74, 1.0),
    "light": (0.91, 0.74, 0.62, 1.0),
    "medium_light": (0.82, 0.62, 0.47, 1.0),
    "medium": (0.69, 0.49, 0.34, 1.0),
    "medium_dark": (0.50, 0.33, 0.22, 1.0),
    "dark": (0.33, 0.21, 0.14, 1.0),
}


@dataclass(frozen=True)
class Appearance:
    """A patient's avatar choice, plain data for storage. ``avatar`` is a build name from
    AVATAR_BUILDS or a path (under models/, without extension) of a clinic's own avatar."""

    avatar: str = "slim"
    skin_tone: str = "medium_light"

    @property
    def avatar_model(self) -> str:
        """The model name to load and to put in ``SkinnedItem.avatar``."""
        return AVATAR_BUILDS.get(self.avatar, self.avatar)

    @property
    def tint(self) -> RGBA:
        """The avatar's skin colour: linear RGBA, each 0..1."""
        return SKIN_TONES[self.skin_tone]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the patient's settings (``from_dict`` reads it back)."""
        return {"avatar": self.avatar, "skin_tone": self.skin_tone}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Appearance:
        """The appearance stored by ``to_dict``; InputFileError for an unknown skin tone."""
        tone = str(data.get("skin_tone", "medium_light"))
        if tone not in SKIN_TONES:
            raise InputFileError(
                f"Unknown skin tone '{tone}'; choose one of {', '.join(SKIN_TONES)}."
            )
        return Appearance(str(data.get("avatar", "slim")), tone)
