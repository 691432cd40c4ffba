"""The torch network: per-row prediction of joint effort / wrench from kinematics.

A linear map (rigid-body dynamics is close to linear in sin/cos, velocity and acceleration
features) plus a small MLP for what is not (floating-base load sharing, friction blend).
Deliberately small: with 15 recordings, big sequence models learn the routine instead of
the physics (evaluation.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class ResidualNet(nn.Module):
    """``y_hat = A x + MLP(x)`` on standardised inputs and targets."""

    def __init__(self, n_in: int, n_out: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_in, self.n_out, self.hidden = n_in, n_out, hidden
        self.linear = nn.Linear(n_in, n_out)
        self.mlp = nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, n_in) -> (rows, n_out)."""
        return self.linear(x) + self.mlp(x)


def pick_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; expected auto, cpu or cuda")
    return torch.device(device)


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` intra-op CPU threads, then restore the previous setting.

    These matrices are small: one thread is faster than two, and much faster when the
    cores are shared with other work (measured 6x on a loaded 2-core machine).
    """
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)
