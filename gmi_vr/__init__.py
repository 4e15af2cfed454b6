"""gmi-vr: virtual-reality Graded Motor Imagery and mirror therapy.

One frame flows FrameSource -> body -> therapy -> render (and recording);
see ARCHITECTURE.md in the project's shared documents and README.md.
"""

__version__ = "0.1.0"
