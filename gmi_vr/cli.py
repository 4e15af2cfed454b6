"""The ``gmi-vr`` command.

Each subcommand imports what it needs when it runs (STYLE.md: optional parts fail when
used, not when imported), so ``sessions`` and ``export`` work on a machine with no OpenXR
runtime and no display. User-facing failures are ``GmiError``s: printed as one sentence
without a traceback, exit code from the error class.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gmi_vr.core.errors import GmiError

Command = Callable[[argparse.Namespace], int]


def _cmd_doctor(args: argparse.Namespace) -> int:
    from gmi_vr.app import doctor

    return doctor(print_line=print)


def _cmd_run(args: argparse.Namespace) -> int:
    from gmi_vr import app

    if args.sim or args.motion:
        app.run_sim(args.motion)
    else:
        app.run_openxr(max_frames=args.max_frames)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gmi_vr.app import run_demo

    written = run_demo(Path(args.out), args.motion)
    for path in written:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gmi-vr",
        description="Virtual-reality Graded Motor Imagery and mirror therapy.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="check Python, OpenGL and the OpenXR runtime")
    doctor.set_defaults(func=_cmd_doctor)

    run = sub.add_parser("run", help="run a session in the headset (or the simulator with --sim)")
    run.add_argument("--sim", action="store_true", help="use the built-in desktop simulator")
    run.add_argument(
        "--motion", type=Path, help="drive the simulator from a scripted motion file (implies --sim)"
    )
    run.add_argument("--max-frames", type=int, default=None, help=argparse.SUPPRESS)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser(
        "demo", help="a short scripted run on the simulator, saved as pictures (no headset needed)"
    )
    demo.add_argument("--out", default="gmi-vr-demo", help="folder for the pictures (default: %(default)s)")
    demo.add_argument("--motion", type=Path, help="a scripted motion file instead of the built-in one")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.func
    try:
        return command(args)
    except GmiError as error:
        print(f"gmi-vr: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("gmi-vr: stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
