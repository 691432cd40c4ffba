"""Robots and missions: create, search, edit, delete, with the org/role rules.

Views returned here are already in the API's field names, so the HTTP routes, the node and
the tests all see the same shapes.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from ridescan_ros.core.profiles import get_profile
from ridescan_ros.core.store import Store, iso, loads, now
from ridescan_ros.service.access import Principal, check_robot
from ridescan_ros.service.errors import ServiceError, bad_enum, missing

MIN_CALIB_FILES = 15


def robot_type_name(value: object) -> str:
    """Normalise ``SPOT``/``spot``/``0``/``UR6``/``1``/``wheeled_mobile`` to the stored lower case."""
    if value is None or str(value).strip() == "":
        raise missing("robot_type")
    try:
        return get_profile(str(value)).name.lower()
    except ValueError:
        raise bad_enum("robot_type", value, "SPOT, UR6, wheeled_mobile (or 0, 1)") from None


def recordings_count(files: list[dict[str, Any]]) -> int:
    """How many recordings a set of file rows holds (a zip may hold several)."""
    n = 0
    for f in files:
        info = loads(f["info"]) or {}
        n += len(info.get("recordings") or [None])
    return n


def robot_view(r: dict[str, Any]) -> dict[str, Any]:
    """A robot as the API shows it."""
    return {
        "created_time": iso(r["created"]),
        "modified_time": iso(r["modified"]),
        "robot_id": r["id"],
        "robot_name": r["name"],
        "robot_type": r["robot_type"],
    }


class Resources:
    """Use cases on robots and missions over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- robots ---------------------------------------------------------------------------
    def robot(self, p: Principal, robot_id: object) -> dict[str, Any]:
        """The robot row if ``p`` may use it (RS-VAL-001 / RS-ROBOT-002 / RS-AUTH-002)."""
        if not robot_id:
            raise missing("robot_id")
        row = self.store.one("SELECT * FROM robots WHERE id=?", (str(robot_id),))
        return check_robot(p, row, str(robot_id))

    def create_robot(self, p: Principal, name: object, robot_type: object) -> dict[str, Any]:
        """Register a robot; names are unique within an org (RS-ROBOT-001)."""
        name = _name(name, "robot_name")
        rtype = robot_type_name(robot_type)
        t = now()
        rid = str(uuid.uuid4())
        try:
            self.store.run(
                "INSERT INTO robots VALUES (?,?,?,?,?,?,?)", (rid, p.org, p.key_id, name, rtype, t, t)
            )
        except sqlite3.IntegrityError:
            raise ServiceError(
                "RS-ROBOT-001", "Robot name already exists", f"a robot named {name!r} exists"
            ) from None
        return robot_view(self.store.one("SELECT * FROM robots WHERE id=?", (rid,)))

    def find_robots(self, p: Principal, criteria: dict[str, Any]) -> list[dict[str, Any]]:
        """Robots this caller may see, filtered by id, name and type (all optional)."""
        sql, args = "SELECT * FROM robots WHERE org=?", [p.org]
        if p.role != "admin":
            sql, args = sql + " AND owner=?", args + [p.key_id]
        if criteria.get("robot_id"):
            sql, args = sql + " AND id=?", args + [str(criteria["robot_id"])]
        if criteria.get("robot_name"):
            sql, args = sql + " AND name=?", args + [str(criteria["robot_name"])]
        if criteria.get("robot_type") not in (None, ""):
            sql, args = sql + " AND robot_type=?", args + [robot_type_name(criteria["robot_type"])]
        return [robot_view(r) for r in self.store.all(sql + " ORDER BY created", args)]

    def edit_robot(self, p: Principal, robot_id: object, params: dict[str, Any]) -> dict[str, Any]:
        """Rename and/or retype a robot."""
        r = self.robot(p, robot_id)
        name = _name(params["robot_name"], "robot_name") if params.get("robot_name") else r["name"]
        rtype = robot_type_name(params["robot_type"]) if params.get("robot_type") not in (None, "") else r["robot_type"]
        try:
            self.store.run(
                "UPDATE robots SET name=?, robot_type=?, modified=? WHERE id=?", (name, rtype, now(), r["id"])
            )
        except sqlite3.IntegrityError:
            raise ServiceError(
                "RS-ROBOT-001", "Robot name already exists", f"a robot named {name!r} exists"
            ) from None
        return robot_view(self.store.one("SELECT * FROM robots WHERE id=?", (r["id"],)))

    def delete_robot(self, p: Principal, robot_id: object) -> tuple[dict[str, Any], list[str]]:
        """Delete a robot with its missions' rows; returns its view and the mission ids removed."""
        r = self.robot(p, robot_id)
        with self.store.tx() as c:
            mids = [row[0] for row in c.execute("SELECT id FROM missions WHERE robot_id=?", (r["id"],))]
            c.execute("DELETE FROM scores WHERE robot_id=?", (r["id"],))
            c.executemany("DELETE FROM models WHERE mission_id=?", [(m,) for m in mids])
            c.execute("DELETE FROM robots WHERE id=?", (r["id"],))
        view = robot_view(r)
        return {k: view[k] for k in ("robot_id", "robot_name", "robot_type")}, mids

    # -- missions -------------------------------------------------------------------------
    def mission(self, p: Principal, robot_id: object, mission_id: object) -> tuple[dict, dict]:
        """(robot, mission) rows; RS-VAL-004 when the mission is not this robot's."""
        if not mission_id:
            raise missing("mission_id")
        robot = self.robot(p, robot_id)
        m = self.store.one("SELECT * FROM missions WHERE id=?", (str(mission_id),))
        if m is None:
            raise ServiceError("RS-MSN-002", "Mission not found", f"no mission with id {mission_id!r}")
        if m["robot_id"] != robot["id"]:
            raise ServiceError(
                "RS-VAL-004", "Mission does not belong to this robot",
                f"mission {mission_id!r} is not a mission of robot {robot['id']!r}",
            )
        return robot, m

    def mission_only(self, p: Principal, mission_id: object) -> tuple[dict, dict]:
        """(robot, mission) found by mission id alone (mission-details takes only that)."""
        if not mission_id:
            raise missing("mission_id")
        m = self.store.one("SELECT * FROM missions WHERE id=?", (str(mission_id),))
        if m is None:
            raise ServiceError("RS-MSN-002", "Mission not found", f"no mission with id {mission_id!r}")
        try:
            robot = self.robot(p, m["robot_id"])
        except ServiceError as err:
            if err.code == "RS-ROBOT-002":
                raise ServiceError("RS-MSN-002", "Mission not found", f"no mission with id {mission_id!r}") from None
            raise
        return robot, m

    def mission_view(self, m: dict[str, Any], robot: dict[str, Any] | None = None) -> dict[str, Any]:
        """A mission as the API shows it (with the robot's name/type when given)."""
        n_calib = recordings_count(self.store.all(
            "SELECT info FROM files WHERE mission_id=? AND file_type='calib_file'", (m["id"],)))
        has_model = self.store.one("SELECT 1 AS x FROM models WHERE mission_id=? LIMIT 1", (m["id"],))
        out = {
            "calibration_possible": n_calib >= MIN_CALIB_FILES,
            "created_time": iso(m["created"]),
            "inference_possible": has_model is not None,
            "mission_id": m["id"],
            "mission_name": m["name"],
            "modified_time": iso(m["modified"]),
            "robot_id": m["robot_id"],
        }
        if robot is not None:
            out["robot_name"] = robot["name"]
            out["robot_type"] = robot["robot_type"]
        return out

    def create_mission(self, p: Principal, robot_id: object, name: object) -> dict[str, Any]:
        """Create a mission; names are unique per robot (RS-MSN-001)."""
        robot = self.robot(p, robot_id)
        name = _name(name, "mission_name")
        t, mid = now(), str(uuid.uuid4())
        try:
            self.store.run("INSERT INTO missions VALUES (?,?,?,?,?)", (mid, robot["id"], name, t, t))
        except sqlite3.IntegrityError:
            raise ServiceError(
                "RS-MSN-001", "Mission name already exists", f"robot already has a mission named {name!r}"
            ) from None
        return self.mission_view(self.store.one("SELECT * FROM missions WHERE id=?", (mid,)))

    def find_missions(self, p: Principal, criteria: dict[str, Any]) -> list[dict[str, Any]]:
        """Missions of robots this caller may see; filters by robot, id, name, created window."""
        sql = "SELECT m.* FROM missions m JOIN robots r ON r.id=m.robot_id WHERE r.org=?"
        args: list[Any] = [p.org]
        if p.role != "admin":
            sql, args = sql + " AND r.owner=?", args + [p.key_id]
        for key, col in (("robot_id", "m.robot_id"), ("mission_id", "m.id"), ("mission_name", "m.name")):
            if criteria.get(key):
                sql, args = sql + f" AND {col}=?", args + [str(criteria[key])]
        for key, op in (("start_time", ">="), ("end_time", "<=")):
            if criteria.get(key):
                sql, args = sql + f" AND m.created{op}?", args + [_parse_time(criteria[key], key)]
        robots: dict[str, dict] = {}
        out = []
        for m in self.store.all(sql + " ORDER BY m.created", args):
            r = robots.get(m["robot_id"]) or self.store.one("SELECT * FROM robots WHERE id=?", (m["robot_id"],))
            robots[m["robot_id"]] = r
            out.append(self.mission_view(m, r))
        return out

    def edit_mission(self, p: Principal, robot_id: object, mission_id: object, name: object) -> dict[str, Any]:
        """Rename a mission."""
        _, m = self.mission(p, robot_id, mission_id)
        name = _name(name, "mission_name")
        try:
            self.store.run("UPDATE missions SET name=?, modified=? WHERE id=?", (name, now(), m["id"]))
        except sqlite3.IntegrityError:
            raise ServiceError(
                "RS-MSN-001", "Mission name already exists", f"robot already has a mission named {name!r}"
            ) from None
        return self.mission_view(self.store.one("SELECT * FROM missions WHERE id=?", (m["id"],)))

    def delete_mission(self, p: Principal, robot_id: object, mission_id: object) -> dict[str, Any]:
        """Delete a mission's rows (files, tasks, models, scores); blobs are removed by the caller."""
        _, m = self.mission(p, robot_id, mission_id)
        with self.store.tx() as c:
            c.execute("DELETE FROM scores WHERE mission_id=?", (m["id"],))
            c.execute("DELETE FROM models WHERE mission_id=?", (m["id"],))
            c.execute("DELETE FROM missions WHERE id=?", (m["id"],))
        return {"mission_id": m["id"], "mission_name": m["name"], "robot_id": m["robot_id"]}


def _name(value: object, field: str) -> str:
    if value is None or not str(value).strip():
        raise missing(field)
    text = str(value).strip()
    if len(text) > 200 or any(ord(ch) < 32 for ch in text):
        raise ServiceError("RS-VAL-001", f"Invalid {field}", f"{field} must be 1-200 printable characters")
    return text


def _parse_time(value: object, field: str) -> float:
    from datetime import datetime, timezone

    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError("RS-VAL-001", f"Invalid {field}", f"{field} must be ISO-8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
