"""Seeded training loop for one residual network (CPU or CUDA, same code)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ridescan_ros.model.network import ResidualNet

LR = 3e-3
WEIGHT_DECAY = 1e-4


def train_residual(
    x: np.ndarray,
    y: np.ndarray,
    *,
    rows_per_batch: int,
    epochs: int,
    seed: int,
    device: torch.device,
    hidden: int = 64,
    on_epoch: Callable[[int, float], None] | None = None,
) -> ResidualNet:
    """Fit ``ResidualNet`` on standardised rows; NaN targets are left out of the loss.

    Args:
        x: (rows, n_in) float32 standardised inputs.
        y: (rows, n_out) float32 standardised targets, NaN where unknown.
        rows_per_batch: rows per optimiser step (``batch_size`` windows x window rows).
        on_epoch: called with (epoch index from 1, mean loss) after each epoch.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = ResidualNet(x.shape[1], y.shape[1], hidden).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs), eta_min=LR * 0.05)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).to(device)
    mask = torch.isfinite(yt)
    yt = torch.nan_to_num(yt)
    n = xt.shape[0]
    bs = max(1, min(rows_per_batch, n))
    for ep in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen).to(device)
        total, count = 0.0, 0
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            m = mask[idx]
            err = (net(xt[idx]) - yt[idx]) * m
            loss = (err * err).sum() / m.sum().clamp(min=1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
        sched.step()
        if on_epoch is not None:
            on_epoch(ep, total / max(count, 1))
    net.eval()
    return net.cpu()


@torch.no_grad()
def predict(net: ResidualNet, x: np.ndarray) -> np.ndarray:
    """(rows, n_in) -> (rows, n_out) float64 predictions, on the network's device."""
    device = next(net.parameters()).device
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
    return net(xt).double().cpu().numpy()


@torch.no_grad()
def ensemble_forward(w_in: torch.Tensor, b_in: torch.Tensor, w_out: torch.Tensor, x: np.ndarray) -> np.ndarray:
    """(rows, n_in) float32 -> (rows, n_out): ``y = h[:, :n_out] + silu(h[:, n_out:]) @ w_out``
    with ``h = x @ w_in + b_in`` (``detector._mean_residual`` builds the combined weights)."""
    n_out = w_out.shape[1]
    h = torch.addmm(b_in, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), w_in)
    return (h[:, :n_out] + torch.nn.functional.silu(h[:, n_out:]) @ w_out).double().numpy()
