"""Bulk decoding of raw message payloads with numpy (placeholder until issue 5 lands).

Contract: ``decode_batch(msgtype, payloads, encoding)`` returns ``(columns, done)`` where
``columns`` has the keys ``core.extract.extract_message`` would give (values NaN in rows
not decoded) and ``done`` is a (n,) bool mask of rows decoded here; or ``None`` when this
type/layout is not handled at all. Readers decode the remaining rows one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def decode_batch(
    msgtype: str, payloads: Sequence[bytes], encoding: str
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """Decode many payloads of one connection at once; ``None`` = use the per-message path."""
    return None
