"""The terminal itself for ``al label``: raw single-key input (termios, ``select``),
whole-screen output, and giving the terminal back as it was found: on quit, on an
exception, on ctrl-C and on SIGTERM/SIGHUP."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios

CTRL_C = "\x03"
ENTER = ("\r", "\n")
BACKSPACE = ("\x7f", "\x08")
PAGE_DOWN = (" ", "pgdn")
PAGE_UP = ("pgup",)
LINE_DOWN = ("down", "\x0e")  # ↓, ctrl-N
LINE_UP = ("up", "\x10")      # ↑, ctrl-P
ESC_SEQ = {"[A": "up", "[B": "down", "[5~": "pgup", "[6~": "pgdn", "OA": "up", "OB": "down",
           "[H": "home", "[F": "end", "[1~": "home", "[4~": "end", "[Z": "btab"}


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived: quit like 'q', then exit with 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------- terminal
class Terminal:
    """Raw single-key input on stdin, whole-screen output on stdout."""

    def __init__(self) -> None:
        self.fd_in = sys.stdin.fileno()
        self.fd_out = sys.stdout.fileno()
        self._saved: list | None = None
        self._buf = ""
        self._pending = b""
        self.resized = False
        self.terminated = 0
        self.interrupted = False
        self._old_handlers: dict[int, object] = {}
        self._wake: tuple[int, int] | None = None  # a signal makes this pipe readable
        self._old_wakeup = -1
        self.fresh_line = True  # the cursor is at the start of an empty line

    # -- lifetime --
    def __enter__(self) -> "Terminal":
        self._saved = termios.tcgetattr(self.fd_in)
        mode = termios.tcgetattr(self.fd_in)
        mode[0] &= ~(termios.IXON | termios.ICRNL)                                   # iflag
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)  # lflag
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        for sig, handler in ((signal.SIGTERM, self._on_term), (signal.SIGHUP, self._on_term),
                             (signal.SIGINT, self._on_int), (signal.SIGWINCH, self._on_winch)):
            self._old_handlers[sig] = signal.signal(sig, handler)
        # a signal (a resize above all) wakes the wait for a key at once, not at its timeout
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        try:
            self._old_wakeup = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            self._wake = (r, w)
        except ValueError:  # not the main thread: the wait's timeout does it
            os.close(r)
            os.close(w)
        termios.tcsetattr(self.fd_in, termios.TCSADRAIN, mode)
        self.write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide cursor
        return self

    def __exit__(self, *exc) -> None:
        self.restore()

    def restore(self) -> None:
        """Give the terminal back: attributes, cursor, the normal screen, and the cursor
        at the start of a fresh line (where a terminal without an alternate screen keeps
        the last frame on view)."""
        if self._saved is None:
            return
        with contextlib.suppress(OSError):
            self.write("\x1b[0m" + ("" if self.fresh_line else "\r\n") + "\x1b[?25h\x1b[?1049l")
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd_in, termios.TCSADRAIN, self._saved)
        self._saved = None
        for sig, handler in self._old_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)
        self._old_handlers.clear()
        if self._wake is not None:
            with contextlib.suppress(Exception):
                signal.set_wakeup_fd(self._old_wakeup)
            for fd in self._wake:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake = None

    # Signals only set a flag, read between keys: an append in progress always finishes.
    def _on_term(self, signum, frame) -> None:  # noqa: ARG002
        self.terminated = signum

    def _on_int(self, signum, frame) -> None:  # noqa: ARG002
        self.interrupted = True

    def _on_winch(self, signum, frame) -> None:  # noqa: ARG002
        self.resized = True

    # -- output --
    def write(self, s: str, *, fresh_line: bool = False) -> None:
        """Write ``s``; ``fresh_line``: it leaves the cursor at the start of an empty line."""
        self.fresh_line = fresh_line
        data = s.encode("utf-8", errors="replace")
        while data:
            n = os.write(self.fd_out, data)
            data = data[n:]

    def size(self) -> tuple[int, int]:
        try:
            sz = os.get_terminal_size(self.fd_out)
            return max(sz.columns, 1), max(sz.lines, 1)
        except OSError:
            return 80, 24

    # -- input --
    def _fill(self, timeout: float | None) -> bool:
        fds = [self.fd_in] + ([self._wake[0]] if self._wake else [])
        r, _, _ = select.select(fds, [], [], timeout)
        if self._wake and self._wake[0] in r:
            with contextlib.suppress(OSError):
                os.read(self._wake[0], 512)  # the flags set by the handlers say what came
        if self.fd_in not in r:
            return False
        data = os.read(self.fd_in, 1024)
        if not data:
            raise EOFError
        data = self._pending + data
        try:
            self._buf += data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                self._buf += data[: exc.start].decode("utf-8")
                self._pending = data[exc.start:]
            else:
                self._buf += data.decode("utf-8", errors="replace")
                self._pending = b""
        return True

    def discard_input(self) -> None:
        """Forget keys typed before the current item was drawn (a double press or a key
        bounce must not answer an item the annotator has not seen)."""
        with contextlib.suppress(termios.error, OSError):
            termios.tcflush(self.fd_in, termios.TCIFLUSH)
        self._buf = ""
        self._pending = b""

    def read_key(self) -> str:
        """One key: a character, or a name for an escape sequence ("up", "esc", ...)."""
        while not self._buf:
            if self.terminated:
                raise Terminated(self.terminated)
            if self.interrupted:
                self.interrupted = False
                return CTRL_C
            if self.resized:
                self.resized = False
                return "resize"
            self._fill(0.25)
        if self._buf[0] == "\x1b":
            if len(self._buf) == 1:
                self._fill(0.03)  # a lone ESC, or the start of a sequence still in flight
            if len(self._buf) == 1:
                self._buf = ""
                return "esc"
            for seq, name in ESC_SEQ.items():
                if self._buf[1:].startswith(seq):
                    self._buf = self._buf[1 + len(seq):]
                    return name
            # an unknown sequence: drop ESC and its parameter bytes
            i = 1
            if i < len(self._buf) and self._buf[i] in "[O":
                i += 1
                while i < len(self._buf) and not ("@" <= self._buf[i] <= "~"):
                    i += 1
                i += 1
            self._buf = self._buf[i:]
            return "unknown"
        key, self._buf = self._buf[0], self._buf[1:]
        return key
