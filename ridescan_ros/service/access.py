"""Who is asking: the org and role a key belongs to, and what that lets it see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ridescan_ros.service.errors import ServiceError


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        org: the organisation the key belongs to; robots never cross orgs.
        role: ``admin`` sees every robot of the org, ``user`` only the robots it created.
        key_id: stable id of the key (never the key): the owner recorded on robots.
    """

    org: str
    role: str
    key_id: str

    def can_see(self, robot: dict[str, Any]) -> bool:
        """True when this caller may read or change ``robot``."""
        if robot["org"] != self.org:
            return False
        return self.role == "admin" or robot["owner"] == self.key_id


LOCAL = Principal(org="local", role="admin", key_id="local")


def check_robot(principal: Principal, robot: dict[str, Any] | None, robot_id: str) -> dict[str, Any]:
    """Return the robot if ``principal`` may use it; 404 across orgs, 403 inside one."""
    if robot is None or robot["org"] != principal.org:
        raise ServiceError("RS-ROBOT-002", "Robot not found", f"no robot with id {robot_id!r}")
    if not principal.can_see(robot):
        raise ServiceError(
            "RS-AUTH-002", "Forbidden", "a 'user' key can only use robots it created"
        )
    return robot
