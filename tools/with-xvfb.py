"""Run a command with DISPLAY set to a private Xvfb server, then stop that server.

Usage: python tools/with-xvfb.py CMD [ARGS...]  — exits with CMD's status. The server is
started with -displayfd (no guessing of free display numbers) and stopped by its pid.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    read_fd, write_fd = os.pipe()
    # -noreset: by default Xvfb resets when its last client leaves, and a client connecting
    # during that reset fails to open the display (a window test run right after another).
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        print("with-xvfb: Xvfb did not start; install it with: apt-get install xvfb", file=sys.stderr)
        return 1
    env = dict(os.environ, DISPLAY=f":{number}")
    try:
        return subprocess.call(sys.argv[1:], env=env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
