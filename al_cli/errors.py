"""The project's exceptions. Each carries a message meant for the user.

The CLI turns any :class:`AlError` into one ``error: ...`` line on stderr and
exit code 1 (see ``al_cli/cli``); nothing else in the package prints errors.
Code that must react to a particular failure catches its type, never its message.
"""

from __future__ import annotations

from pathlib import Path


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


class SettingError(ConfigError):
    """An environment variable (AL_LOCK_TIMEOUT, AL_CLAIM_TTL, ...) holds a bad value."""


class DataError(AlError):
    """The pool, validation or import file cannot be used as given."""


class ColumnNotFoundError(DataError):
    """A file was read but lacks a column that was asked for."""

    def __init__(self, message: str, path: Path | str, column: str):
        super().__init__(message)
        self.path = Path(path)
        self.column = column


class ProjectError(AlError):
    """The project folder is missing, locked, or in a state that forbids the step."""


class FormatError(ProjectError):
    """A project file has a format version this al cannot read (written by a newer al)."""


class StrategyError(AlError):
    """A strategy got input it cannot score (NaN probabilities, bad shapes, ...)."""


class PluginError(ConfigError):
    """A registered part (strategy, model, feature extractor, stopping rule) cannot be loaded."""


class IntegrityError(AlError):
    """An artifact does not match its manifest (sha256) or was not written by al."""
