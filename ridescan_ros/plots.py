"""PNG plots of scores: risk over time per recording, and one bar per recording.

matplotlib runs on its Agg backend (no display on robots or CI). Results are read by
attribute or key, so a ``FileScore`` and its JSON form plot the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

THRESHOLD = 50.0
_COLORS = {"normal": "#4c9a2a", "fault": "#c0392b", "failed": "#c0392b", None: "#5d6d7e"}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _top_text(top: Sequence[Any], n: int = 3) -> str:
    parts = []
    for item in list(top or [])[:n]:
        name = _get(item, "signal", item if isinstance(item, str) else "?")
        c = _get(item, "contribution")
        parts.append(f"{name} ({c:.0%})" if isinstance(c, (int, float)) and c <= 1.0 else str(name))
    return ", ".join(parts)


def plot_risk(
    score: Any,
    out_path: str | Path,
    *,
    threshold: float = THRESHOLD,
    onset_s: float | None = None,
    label: str | None = None,
) -> Path:
    """Risk of each window over time (seconds from the first window), the threshold line,
    the peak window marked with its own top signal when known, and the file's top signals.

    ``onset_s`` (seconds from the recording start) draws the labelled fault onset.
    """
    ws = list(_get(score, "window_scores", []) or [])
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    name = Path(str(_get(score, "file", "recording"))).name
    if ws:
        t0 = float(_get(ws[0], "t_start"))
        mid = [0.5 * (float(_get(w, "t_start")) + float(_get(w, "t_end"))) - t0 for w in ws]
        risk = [float("nan") if _get(w, "risk") is None else float(_get(w, "risk")) for w in ws]  # gaps
        ax.plot(mid, risk, color="#1f4e79", lw=1.4, label="window risk")
        ax.fill_between(mid, risk, threshold, where=[r >= threshold for r in risk], color="#c0392b", alpha=0.3, interpolate=True)
        k = max(range(len(risk)), key=lambda i: -1.0 if risk[i] != risk[i] else risk[i])
        peak_sig = _get(ws[k], "top_signal") or _top_text(_get(ws[k], "top_signals", []), 1)
        where = mid[k] / max(mid[-1], 1e-3)  # keep the note inside the axes near either edge
        ha = "left" if where < 0.2 else "right" if where > 0.8 else "center"
        ax.annotate(f"peak {risk[k]:.0f}" + (f": {peak_sig}" if peak_sig else ""), (mid[k], risk[k]),
                    xytext=(0, 8), textcoords="offset points", ha=ha, fontsize=8)
        ax.set_xlim(0, max(mid[-1], 1e-3))
    else:
        ax.text(0.5, 0.5, "no complete window", transform=ax.transAxes, ha="center")
    ax.axhline(threshold, color="#c0392b", ls="--", lw=1, label=f"threshold {threshold:g}")
    if onset_s is not None:
        ax.axvline(onset_s, color="#7d3c98", ls=":", lw=1.2, label="labelled onset")
    ax.set_ylim(0, 105)
    ax.set_xlabel("seconds from first window")
    ax.set_ylabel("risk (0-100)")
    file_risk = _get(score, "risk_score")
    basis = str(_get(score, "risk_basis", "") or "")
    why = {"": "", "file": " (whole-run statistics + top windows)"}.get(basis, f" (sustained {basis})")
    head = f"{name}" + (f" [{label}]" if label else "") + (f"  risk {file_risk:.0f}{why}" if file_risk is not None else "")
    ax.set_title(head, fontsize=10)
    top = _top_text(_get(score, "top_signals", []))
    if top:
        ax.text(0.01, 0.97, "top signals: " + top, transform=ax.transAxes, va="top", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_summary(
    rows: Sequence[Mapping[str, Any]], out_path: str | Path, *, threshold: float = THRESHOLD, title: str = "file risk"
) -> Path:
    """One bar per recording (``rows``: ``file``, ``risk``, optional ``label``), coloured by label."""
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(rows) + 2), 4), dpi=100)
    names = [Path(str(r["file"])).name for r in rows]
    risks = [float(r["risk"]) if r.get("risk") is not None else 0.0 for r in rows]
    colors = [_COLORS.get(r.get("label"), _COLORS[None]) for r in rows]
    ax.bar(range(len(rows)), risks, color=colors)
    ax.axhline(threshold, color="#c0392b", ls="--", lw=1)
    ax.set_xticks(range(len(rows)), names, rotation=70, ha="right", fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("risk (0-100)")
    ax.set_title(title, fontsize=10)
    seen = {r.get("label") for r in rows}
    handles = [plt.Rectangle((0, 0), 1, 1, color=_COLORS.get(lab, _COLORS[None])) for lab in seen]
    ax.legend(handles, [str(lab or "unlabelled") for lab in seen], fontsize=8, loc="upper left")
    fig.tight_layout()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
