"""The desktop window's keyboard and mouse as plain data: the console's window fills an
``InputState`` from its callbacks, and the simulator's keyboard source (gmi_vr.xr.sim_source) reads
it. It lives here, below both, so the console never imports the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InputState:
    """Keyboard and mouse as the desktop window saw them; the window's callbacks fill it.

    Key names are lower-case: letters and digits as themselves, plus "space", "tab",
    "backspace", "escape", "f1", "shift". ``mouse_buttons`` holds "left", "middle",
    "right". ``look_dx``/``look_dy`` accumulate mouse motion (pixels) meant for looking
    or turning a hand until the source takes them; ``pressed`` lists keys pressed since
    the source last looked (for toggles).
    """

    keys_down: set[str] = field(default_factory=set)
    mouse_buttons: set[str] = field(default_factory=set)
    look_dx: float = 0.0
    look_dy: float = 0.0
    pressed: list[str] = field(default_factory=list)

    def take_pressed(self) -> list[str]:
        """The keys pressed since the last call (lower-case names, in order); clears them."""
        pressed, self.pressed = self.pressed, []
        return pressed

    def take_look(self) -> tuple[float, float]:
        """The (dx, dy) mouse motion in pixels accumulated since the last call; resets it to zero."""
        delta = (self.look_dx, self.look_dy)
        self.look_dx = self.look_dy = 0.0
        return delta
