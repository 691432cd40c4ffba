"""Build the node's ``/diagnostics`` statuses (REP-107 levels) from plain state."""

from __future__ import annotations

from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


@dataclass
class HealthState:
    """Everything the diagnostics report, gathered by the node each period."""

    roles: dict[str, str]  # role -> topic
    last_rx_age: dict[str, float | None]  # role -> seconds since last message (None: never)
    stale_after_s: float
    rejected: dict[str, str] = field(default_factory=dict)
    model_version: str | None = None
    model_problem: str = ""
    calibration: str = ""
    score_error: str = ""
    windows_scored: int = 0
    last_score: float | None = None
    safety_stop: bool = False
    counters: dict[str, int] = field(default_factory=dict)


def _status(name: str, hw: str, level: int, msg: str, kv: dict) -> DiagnosticStatus:
    return DiagnosticStatus(
        level=level, name=name, message=msg, hardware_id=hw,
        values=[KeyValue(key=str(k), value=str(v)) for k, v in kv.items()],
    )


def build_statuses(prefix: str, hw: str, h: HealthState) -> list[DiagnosticStatus]:
    """Three statuses: inputs (stale/missing/refused), model, scoring."""
    stale = [r for r, a in h.last_rx_age.items() if a is not None and a > h.stale_after_s]
    never = [r for r, a in h.last_rx_age.items() if a is None]
    kv = {f"{r} ({h.roles[r]})": ("never" if a is None else f"{a:.2f} s ago")
          for r, a in h.last_rx_age.items()}
    kv.update({f"refused {r}": why for r, why in h.rejected.items()})
    problems = []
    if stale:
        problems.append("stale: " + ", ".join(stale))
    if never:
        problems.append("no messages yet: " + ", ".join(never))
    if h.rejected:
        problems.append("refused messages on: " + ", ".join(sorted(h.rejected)))
    inputs = _status(f"{prefix}: inputs", hw, WARN if problems else OK,
                     "; ".join(problems) or "all inputs fresh", kv)
    if h.model_version:
        model = _status(f"{prefix}: model", hw, OK, f"model {h.model_version}",
                        {"calibration": h.calibration})
    else:
        model = _status(f"{prefix}: model", hw, WARN, h.model_problem or "no model yet",
                        {"calibration": h.calibration})
    skv = {"windows_scored": h.windows_scored, "safety_stop": h.safety_stop,
           "last_score": "none" if h.last_score is None else f"{h.last_score:.2f}"}
    skv.update(h.counters)
    if h.score_error:
        scoring = _status(f"{prefix}: scoring", hw, ERROR, h.score_error, skv)
    elif not h.model_version:
        scoring = _status(f"{prefix}: scoring", hw, WARN, "not scoring: no model", skv)
    elif len(stale) + len(never) == len(h.last_rx_age):
        scoring = _status(f"{prefix}: scoring", hw, WARN, "not scoring: no live input", skv)
    else:
        scoring = _status(f"{prefix}: scoring", hw, OK, "scoring", skv)
    return [inputs, model, scoring]
