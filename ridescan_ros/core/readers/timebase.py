"""One documented time base per stream, and masking of values no sensor produces.

Rule (ADR 0001, BR-05/BR-20):

1. Every message has a log (receive) time from the container. The recording's reference
   time is the median log time over all topics; a sample whose log time lies more than
   ``PLAUSIBLE_WINDOW_S`` (30 days) from it (a 1970 time among 2024 data, a clock jump)
   is dropped and reported. The span of a broken file never sizes an allocation: only
   the number of messages does.
2. A stamped stream uses ``header.stamp`` when every stamp is non-zero and the stamps run
   on the log clock: median ``stamp - log`` within ``MAX_STAMP_OFFSET_S`` (10 s; transport
   latency is milliseconds). A stamp further than that from its own log time (after that
   median offset) is dropped and reported (a 1970 stamp). Zero stamps (drivers that never
   fill them) or stamps on another clock (a replayed bag, an unsynced robot clock, sim time)
   make the stream fall back to log time, and the warning says so, so stamped and
   unstamped topics of one recording never end up days apart.
3. A single sample whose time jumps away from both neighbours in message order (by more
   than ``JUMP_MIN_S`` and ``JUMP_STEPS`` typical steps) while they agree with each other
   is a clock glitch: dropped and reported (a 2-day jump would else size the grid).
   Samples are then stably sorted on the chosen time; backwards steps are counted and
   reported as a data-quality finding, never silently kept.
4. NaN, +/-inf, magnitudes above ``ABSURD_MAGNITUDE`` and denormals in value columns
   become NaN (missing), reported with count, column (joint) and first time (BR-19).
"""

from __future__ import annotations

import numpy as np

from ridescan_ros.core.telemetry import Stream

PLAUSIBLE_WINDOW_S = 30 * 86400.0
MAX_STAMP_OFFSET_S = 10.0
ABSURD_MAGNITUDE = 1e12
JUMP_MIN_S = 1.0
JUMP_STEPS = 100
_TINY = np.finfo(np.float64).tiny
_STAMP = "header.stamp"


def ns_to_seconds(ns: np.ndarray) -> np.ndarray:
    """Integer nanoseconds -> float64 seconds without losing the sub-second part."""
    ns = np.asarray(ns, dtype=np.int64)
    sec = ns // 1_000_000_000
    return sec.astype(np.float64) + (ns - sec * 1_000_000_000).astype(np.float64) * 1e-9


def reference_time(all_times: list[np.ndarray]) -> float | None:
    """Median time over every stream of a recording (None when there are none)."""
    parts = [t for t in all_times if t.size]
    if not parts:
        return None
    return float(np.median(np.concatenate(parts)))


def _is_time_key(key: str) -> bool:
    k = key.lower()
    return "stamp" in k or "time" in k


def _summary(details: list[str]) -> str:
    more = f", ... {len(details) - 8} more" if len(details) > 8 else ""
    return ", ".join(details[:8]) + more


def mask_bad_values(
    topic: str, t: np.ndarray, columns: dict[str, np.ndarray], warnings: list[str]
) -> int:
    """Replace +/-inf, absurd magnitudes and denormals by NaN in place; returns how many.

    NaN already present (published NaN, or a field absent such as an empty JointState
    array) is reported separately as missing, so users see both kinds with time and column.
    """
    masked, missing = [], []
    total = 0
    for key, col in columns.items():
        if _is_time_key(key):
            continue
        nan_in = np.isnan(col)
        with np.errstate(invalid="ignore"):
            mag = np.abs(col)
            bad = np.isinf(col) | (mag > ABSURD_MAGNITUDE) | ((mag < _TINY) & (mag > 0))
        nbad = int(bad.sum())
        if nbad:
            col[bad] = np.nan
            first = int(np.flatnonzero(bad)[0])
            masked.append(f"{key} ({nbad}, first at t={t[first]:.3f})")
            total += nbad
        nmiss = int(nan_in.sum())
        if nmiss:
            first = int(np.flatnonzero(nan_in)[0])
            missing.append(f"{key} ({nmiss}, first at t={t[first]:.3f})")
    if masked:
        warnings.append(
            f"{topic}: {total} non-finite or absurd values (inf, |x|>{ABSURD_MAGNITUDE:g}, "
            f"denormal) masked as missing: {_summary(masked)}"
        )
    if missing:
        warnings.append(f"{topic}: missing values (NaN or empty field): {_summary(missing)}")
    return total


def isolated_jumps(t: np.ndarray) -> np.ndarray:
    """(n,) bool: samples (message order) far from both neighbours that agree with each other.

    "Far" is more than ``max(JUMP_MIN_S, JUMP_STEPS * median |step|)``. The first and last
    sample count when they are far from the next two (previous two) that agree.
    """
    n = t.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    d = np.abs(np.diff(t))
    lim = max(JUMP_MIN_S, JUMP_STEPS * float(np.median(d)))
    out[1:-1] = (d[:-1] > lim) & (d[1:] > lim) & (np.abs(t[2:] - t[:-2]) <= lim)
    out[0] = d[0] > lim and d[1] <= lim
    out[-1] = d[-1] > lim and d[-2] <= lim
    return out


def build_stream(
    topic: str,
    msgtype: str,
    log_s: np.ndarray,
    columns: dict[str, np.ndarray],
    ref: float | None,
    warnings: list[str],
    *,
    time_label: str = "log time",
) -> Stream:
    """Choose the time base, drop implausible samples, mask bad values, sort.

    Args:
        log_s: (n,) float64 log/receive (or CSV) time in seconds, message order.
        columns: key -> (n,) float64, message order (modified in place).
        ref: the recording's reference time (`reference_time`), None to skip plausibility.
    """
    n = log_s.shape[0]
    keep = np.ones(n, dtype=bool)
    if ref is not None:
        far = np.abs(log_s - ref) > PLAUSIBLE_WINDOW_S
        if far.any():
            keep &= ~far
            warnings.append(
                f"{topic}: dropped {int(far.sum())} sample(s) whose {time_label} is implausible "
                f"(e.g. {log_s[far][0]:.3f} s, more than 30 days from the recording's median "
                f"{ref:.3f} s)"
            )
    t = log_s
    base = time_label
    stamps = columns.get(_STAMP)
    if stamps is not None and n:
        zero = (stamps == 0) | np.isnan(stamps)
        if zero.all():
            warnings.append(f"{topic}: header.stamp is 0 in every message; using {time_label}")
        elif zero.any():
            warnings.append(
                f"{topic}: header.stamp is 0 in {int(zero.sum())} of {n} messages; "
                f"using {time_label} for the whole topic"
            )
        else:
            offset = float(np.median(stamps - log_s))
            if abs(offset) > MAX_STAMP_OFFSET_S:
                warnings.append(
                    f"{topic}: header.stamp is on another clock than the {time_label} (median "
                    f"offset {offset:.3f} s: replayed bag or unsynced clock); using {time_label}"
                )
            else:
                odd = np.abs(stamps - log_s - offset) > MAX_STAMP_OFFSET_S
                if odd.any():
                    warnings.append(
                        f"{topic}: dropped {int((odd & keep).sum())} sample(s) whose header.stamp "
                        f"is implausible (e.g. {stamps[odd][0]:.3f} s, more than "
                        f"{MAX_STAMP_OFFSET_S:g} s from its log time)"
                    )
                    keep &= ~odd
                t, base = stamps, "header.stamp"
    if not keep.all():
        t = t[keep]
        columns = {k: v[keep] for k, v in columns.items()}
    glitch = isolated_jumps(t)
    if glitch.any():
        first = int(np.flatnonzero(glitch)[0])
        warnings.append(
            f"{topic}: dropped {int(glitch.sum())} sample(s) whose {base} jumps away from both "
            f"neighbours (e.g. message {first}: {t[first]:.3f} s; clock glitch)"
        )
        t = t[~glitch]
        columns = {k: v[~glitch] for k, v in columns.items()}
    t = np.ascontiguousarray(t, dtype=np.float64)
    if t.size > 1:
        back = int(np.count_nonzero(np.diff(t) < 0))
        if back:
            order = np.argsort(t, kind="stable")
            t = t[order]
            columns = {k: v[order] for k, v in columns.items()}
            warnings.append(
                f"{topic}: {back} backward time step(s) in message order; samples sorted on "
                f"{base} (non-monotonic stamps are a data-quality finding)"
            )
    mask_bad_values(topic, t, columns, warnings)
    return Stream(topic=topic, msgtype=msgtype, t=t, columns=columns)
