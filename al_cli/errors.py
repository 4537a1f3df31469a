"""The project's exceptions. Each carries a message meant for the user.

The CLI turns any :class:`AlError` into one ``error: ...`` line on stderr and
exit code 1 (see ``cli.py``); nothing else in the package prints errors.
"""

from __future__ import annotations


class AlError(Exception):
    """A mistake the user can fix: bad data, bad config, wrong order of steps."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class ConfigError(AlError):
    """al.yaml is missing, unreadable or holds an invalid value."""


class DataError(AlError):
    """The pool, validation or import file cannot be used as given."""


class ProjectError(AlError):
    """The project folder is missing, locked, or in a state that forbids the step."""


class StrategyError(AlError):
    """A strategy got input it cannot score (NaN probabilities, bad shapes, ...)."""


class IntegrityError(AlError):
    """An artifact does not match its manifest (sha256) or was not written by al."""
