"""One public error family, so adapters (CLI, API, node) can catch a single type."""

from __future__ import annotations


class RideScanError(Exception):
    """Base class for every error the product reports to a user."""


class RecordingError(RideScanError):
    """A recording cannot be read; the message names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        """Pickle as (path, reason) so the error survives a worker process (core.parallel)."""
        return (type(self), (self.path, self.reason), self.__dict__)


class WrongRobotError(RecordingError):
    """A recording does not fit the requested robot type (expected vs found)."""


class CalibrationError(RideScanError):
    """Calibration cannot run (too few files, nothing usable, ...).

    ``file_errors`` (path -> reason) says which inputs were skipped and why, so "found 14"
    comes with the reason for the 15th.
    """

    def __init__(self, message: str, file_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.file_errors = dict(file_errors or {})


class ModelError(RideScanError):
    """A model directory is missing, incomplete or incompatible."""
