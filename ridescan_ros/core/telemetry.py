"""Numeric telemetry as read from a recording, before robot profiles name it.

Every reader (ROS 1 bag, rosbag2 sqlite3/MCAP, CSV, zip) returns a `Recording`: one
`Stream` per topic (or per CSV file), each a time vector plus named float64 columns.
Column keys come from `core.extract` (e.g. ``shoulder_pan_joint.position``,
``force.z``); live subscriptions produce the same keys, so offline and live scoring
see the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Stream:
    """One topic's numeric content on one time base.

    Attributes:
        topic: topic name (``/joint_states``) or a CSV pseudo-topic (``csv``).
        msgtype: ROS type name (``sensor_msgs/msg/JointState``) or ``csv/<layout>``.
        t: (n,) float64 seconds on the documented time base (epoch seconds when known,
            else seconds since recording start), sorted ascending.
        columns: column key -> (n,) float64; NaN where a message lacked the value.
    """

    topic: str
    msgtype: str
    t: np.ndarray
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass
class Recording:
    """Everything read from one file or bag folder.

    Attributes:
        path: the path the user gave (used in every message about this recording).
        streams: topic -> Stream.
        warnings: data-quality findings (recovered chunks, masked NaN, sorted stamps...).
        messages_read: messages (or CSV rows) turned into samples.
        messages_declared: count the container declares, when it declares one.
        recovered: True when the container was damaged and only part could be read.
    """

    path: str
    streams: dict[str, Stream] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    messages_read: int = 0
    messages_declared: int | None = None
    recovered: bool = False

    def duration_s(self) -> float:
        """Seconds between the first and last sample over all streams (0 if empty)."""
        starts = [s.t[0] for s in self.streams.values() if len(s)]
        ends = [s.t[-1] for s in self.streams.values() if len(s)]
        if not starts:
            return 0.0
        return float(max(ends) - min(starts))
