"""Errors of the use cases, carrying the RideScan contract's RS-* code.

The service never speaks HTTP: the API maps each code to its status, the node and the CLI
print the message. The codes are part of the domain vocabulary clients already know.
"""

from __future__ import annotations

from ridescan_ros.core.errors import RideScanError


class ServiceError(RideScanError):
    """A request the service refuses; ``code`` is the contract's RS-* code."""

    def __init__(self, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details if details is not None else message

    def __str__(self) -> str:
        """``message: details`` (the node and logs show both; the API sends them apart)."""
        return self.message if self.details in ("", self.message) else f"{self.message}: {self.details}"


def missing(field: str) -> ServiceError:
    """RS-VAL-001 naming the missing field (clients show it to users)."""
    return ServiceError("RS-VAL-001", f"Missing required field: {field}", f"'{field}' is required")


def bad_enum(field: str, value: object, allowed: str) -> ServiceError:
    """RS-VAL-003 for a value outside an enum."""
    return ServiceError("RS-VAL-003", f"Invalid {field}: {value!r}", f"expected one of {allowed}")
