"""A pseudo-terminal of a given size, for a process's standard output to be a terminal.

What a program prints to a terminal can depend on its width (rich folds tables to it), so the
terminal here has a real size, set the way a terminal emulator sets it (TIOCSWINSZ).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import time
from collections.abc import Callable


class Terminal:
    def __init__(self, *, columns: int = 80, rows: int = 24) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self._seen = bytearray()

    def handed_over(self) -> None:
        """Close this process's copy of the terminal's writing end, once a child holds it:
        reading then ends when the child and its own children have gone."""
        os.close(self.slave)
        self.slave = -1

    def text(self) -> str:
        # the terminal's line discipline turns each "\n" into "\r\n"
        return self._seen.decode("utf-8", "replace").replace("\r\n", "\n")

    def read_until(self, done: Callable[[str], bool], *, timeout: float) -> str:
        """Everything written so far, once `done` holds for it (or the writer is gone)."""
        deadline = time.monotonic() + timeout
        while not done(self.text()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; the terminal shows:\n{self.text()}")
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            self._seen += chunk
        return self.text()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
