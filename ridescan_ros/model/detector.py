"""Window scoring: physics residuals plus two-sided window statistics, per signal.

A ``FoldModel`` is fitted on the training recordings of one fold: signal standardisation,
the distribution of window statistics (mean/std/min/max per signal) and, when the robot has
kinematics, a ``ResidualNet`` predicting effort/wrench. Its per-window, per-signal terms are

* ``feat[s]`` = mean over the 4 statistics of ``z**2`` (z against calibration windows:
  two-sided, so a force transient that is missing counts like one that is too big);
* ``res[s]``  = ``mean(residual / residual sd)**2`` over the window's rows, for targets:
  the square of the window's mean standardised residual. Load, gain and friction faults
  shift the residual persistently, while the effort sensor's white noise averages out over
  the window; averaging the squares instead would keep that noise in every window
  (measured on sim_spot: friction and foot-slip runs separate much better this way).

The ``Detector`` averages its folds' terms and weighs them per signal (``calibration``:
every signal averages the same on held-out normal windows, then the feat and res groups
are combined by inverse variance); ``raw = sum_s contribution[s]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ridescan_ros.model.features import Layout, residual_inputs, window_stats
from ridescan_ros.model.network import ResidualNet, cpu_threads
from ridescan_ros.model.training import ensemble_forward, predict

Z2_CAP = 1e4  # one absurd value should not hide every other signal's share


def _floor_sd(sd: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Standard deviations with a floor, so constant calibration signals stay finite."""
    return np.maximum(np.nan_to_num(sd, nan=0.0), 1e-3 * (np.abs(np.nan_to_num(mu)) + 1.0))


OUTLIER_RANGES = 30.0  # this many bulk ranges beyond the bulk: not calibration data
BULK = (0.01, 0.99)


def plausible_bounds(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the values calibration data may take: ``OUTLIER_RANGES`` times the width
    of the bulk (1-99 % quantiles) either side of it; a column whose bulk has no width (a
    constant signal) gets ``OUTLIER_RANGES * (|value| + 1)``.

    A driver glitch (a 1e9 N force among readings of tens, BR-19; even a burst of them)
    lies far outside; heavy but real tails (torque spikes while stepping, accelerations)
    lie within a few ranges. Shapes: ``a`` (rows, d) -> (d,), (d,) (keepdims along axis).
    """
    with np.errstate(all="ignore"):
        quantile = np.nanquantile if np.isnan(a).any() else np.quantile
        lo, hi = quantile(a, BULK, axis=axis, keepdims=True)
        width = np.where(hi > lo, hi - lo, np.abs(lo) + 1.0)
        return lo - OUTLIER_RANGES * width, hi + OUTLIER_RANGES * width


def nan_stats(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and floored sd (all-NaN columns -> mean 0), robust to rare garbage:
    values outside ``plausible_bounds`` are left out."""
    with np.errstate(all="ignore"):
        if a.size and a.shape[axis] > 2:
            lo, hi = plausible_bounds(a, axis)
            far = (a < lo) | (a > hi)
            if far.any():
                a = np.where(far, np.nan, a)
        cnt = np.isfinite(a).sum(axis=axis)
        mu = np.where(cnt > 0, np.nansum(a, axis=axis) / np.maximum(cnt, 1), 0.0)
        var = np.nansum((a - np.expand_dims(mu, axis)) ** 2, axis=axis) / np.maximum(cnt - 1, 1)
    return mu, _floor_sd(np.sqrt(var), mu)


@dataclass
class FoldModel:
    """State fitted on one fold's training recordings (arrays; torch net optional)."""

    sig_mu: np.ndarray
    sig_sd: np.ndarray
    feat_mu: np.ndarray
    feat_sd: np.ndarray
    in_mu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    in_sd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    res_sd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    net: ResidualNet | None = None

    def arrays(self) -> dict[str, list]:
        """JSON-able normalisation (the manifest's record of what was fitted)."""
        names = ("sig_mu", "sig_sd", "feat_mu", "feat_sd", "in_mu", "in_sd", "res_sd")
        return {k: np.asarray(getattr(self, k)).tolist() for k in names}

    @classmethod
    def from_arrays(cls, d: dict, net: ResidualNet | None) -> "FoldModel":
        """Inverse of ``arrays`` plus the loaded network."""
        return cls(**{k: np.asarray(v, dtype=np.float64) for k, v in d.items()}, net=net)

    def terms(self, X: np.ndarray, starts: np.ndarray, w: int, layout: Layout, dt: float,
              unscored: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, d) raw frame -> feat (n, d), res (n, d) unweighted terms of the windows
        starting at ``starts`` (``w`` rows each); see ``fold_terms``."""
        return fold_terms([self], X, starts, w, layout, dt, unscored)


def fold_terms(folds: list[FoldModel], X: np.ndarray, starts: np.ndarray, w: int, layout: Layout,
               dt: float, unscored: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``folds`` of their unweighted per-window, per-signal terms (feat, res).

    Signals with any NaN in a window get feat 0 there (unknown is not anomalous); NaN
    targets drop out of the residual mean (``res`` is the squared window mean of the
    fold-averaged standardised residual); NaN inputs are imputed with each fold's
    calibration mean (the caller reports missing signals). Residuals use each window's
    interior rows ``[s+1, s+w-1)``, whose inputs do not depend on rows outside the window.

    Work shared by the folds is done once: window mean/std/min/max are computed in
    physical units and mapped to each fold's standardisation (an affine map, exact up to
    rounding), and the fold networks' mean residual is two float32 matrix products
    (``_mean_residual``).
    """
    n, d, K = starts.size, X.shape[1], len(folds)
    feat, res = np.zeros((n, d)), np.zeros((n, d))
    if n == 0 or K == 0:
        return feat, res
    nan = ~np.isfinite(X)
    any_nan = bool(nan.any())
    X0 = np.where(nan, 0.0, X) if any_nan else X
    st = window_stats(_cut(X0, starts, w))  # (n, d, 4) physical units
    mu = np.stack([f.sig_mu for f in folds])[:, None, :]  # (K, 1, d)
    sd = np.stack([f.sig_sd for f in folds])[:, None, :]
    stz = np.empty((K,) + st.shape)
    for j in (0, 2, 3):  # mean, min, max: shift and scale
        stz[..., j] = (st[None, :, :, j] - mu) / sd
    stz[..., 1] = st[None, :, :, 1] / sd  # std: scale only
    fmu = np.stack([f.feat_mu for f in folds])[:, None]  # (K, 1, d, 4)
    fsd = np.stack([f.feat_sd for f in folds])[:, None]
    zf = (stz - fmu) / fsd
    feat = np.minimum(zf * zf, Z2_CAP).mean(axis=(0, 3))
    if any_nan:
        feat[_cut(nan, starts, w).any(axis=1)] = 0.0
    feat[:, unscored] = 0.0
    nets = [f.net for f in folds]
    if not layout.active or any(net is None for net in nets):
        return feat, res
    tg = layout.targets
    cols = [c for j in layout.joints for c in j] + list(layout.attitude)
    Xt = X0[:, tg]
    if nan[:, cols].any():  # each fold imputes missing inputs with its own calibration mean
        xs = [residual_inputs(np.where(nan, f.sig_mu, X), layout, dt) for f in folds]
        valid, rm = _mean_residual(folds, xs[0], Xt, tg)
        # rows whose inputs the imputation changed differ between folds: run those per fold
        same = np.ones(X.shape[0], dtype=bool)
        for xk in xs[1:]:
            same &= ((xk == xs[0]) | (np.isnan(xk) & np.isnan(xs[0]))).all(axis=1)
        fix = ~same[valid]
        if fix.any():
            rows = np.flatnonzero(valid)[fix]
            rm[fix] = np.mean([_mean_residual([f], xk[rows], Xt[rows], tg)[1]
                               for f, xk in zip(folds, xs)], axis=0)
    else:
        valid, rm = _mean_residual(folds, residual_inputs(X, layout, dt), Xt, tg)
    t_nan = nan[valid][:, tg]
    r1 = np.zeros((X.shape[0], len(tg)))
    r1[valid] = np.where(t_nan, 0.0, rm)  # NaN targets: whatever stood in is masked here
    ok = np.zeros_like(r1)
    ok[valid] = ~t_nan
    cs = np.concatenate([np.zeros((1, r1.shape[1])), np.cumsum(r1, axis=0)])
    cc = np.concatenate([np.zeros((1, r1.shape[1])), np.cumsum(ok, axis=0)])
    a, b = starts + 1, starts + w - 1
    m = (cs[b] - cs[a]) / np.maximum(cc[b] - cc[a], 1)
    res[:, tg] = np.minimum(m * m, Z2_CAP)
    return feat, res


def _mean_residual(folds: list[FoldModel], x: np.ndarray, Xt: np.ndarray, tg: list[int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows where the inputs ``x`` are finite, and there the folds' mean standardised
    residual ``mean_k((Xt - mu_k) / sd_k - net_k(x_k)) / res_sd_k``.

    Every fold's input standardisation is an affine map of one common standardisation
    ``x_c``, so it is folded into that fold's first-layer weights (in float64; the maps are
    close to identity, so nothing cancels in float32). The linear parts of all folds then
    add up to one matrix, their hidden layers stack side by side, and the ensemble is
    ``x_c @ [L; W1] -> silu -> @ W2``: two products instead of one small network per fold.
    """
    valid = np.isfinite(x).all(axis=1)
    ens = _ensemble(folds, tg)
    xc = ((x[valid] - ens["m_c"]) / ens["s_c"]).astype(np.float32)
    pred = ensemble_forward(ens["w_in"], ens["b_in"], ens["w_out"], xc)  # mean_k net_k / res_sd_k
    return valid, Xt[valid] * ens["g"] - ens["e"] - pred


def _ensemble(folds: list[FoldModel], tg: list[int]) -> dict:
    """Combined float32 weights of the folds' networks (cached on the first fold, keyed by
    the identity of every fold, network and normalisation array they are built from)."""
    key = (tuple((id(f), id(f.net), id(f.res_sd), id(f.in_mu)) for f in folds), tuple(tg))
    cache = getattr(folds[0], "_ens_cache", None)
    if cache is not None and cache[0] == key:
        return cache[1]
    K = len(folds)
    m_c = np.mean([f.in_mu for f in folds], axis=0)
    s_c = np.mean([f.in_sd for f in folds], axis=0)
    lin_w, lin_b, w1, b1, w2 = 0.0, 0.0, [], [], []
    g, e = 0.0, 0.0
    for f in folds:
        tg_mu, tg_sd = f.sig_mu[tg], f.sig_sd[tg]
        rs = f.res_sd
        sd_ = {k: v.detach().cpu() for k, v in f.net.state_dict().items()}
        L, l0 = sd_["linear.weight"].double().numpy(), sd_["linear.bias"].double().numpy()
        W1, c1 = sd_["mlp.0.weight"].double().numpy(), sd_["mlp.0.bias"].double().numpy()
        W2, c2 = sd_["mlp.2.weight"].double().numpy(), sd_["mlp.2.bias"].double().numpy()
        a, b = s_c / f.in_sd, (m_c - f.in_mu) / f.in_sd  # x_k = x_c * a + b
        lin_w = lin_w + (L * a) / rs[:, None] / K
        lin_b = lin_b + (L @ b + l0 + c2) / rs / K
        w1.append(W1 * a)
        b1.append(W1 @ b + c1)
        w2.append(W2 / rs[:, None] / K)
        g = g + 1.0 / (tg_sd * rs) / K
        e = e + tg_mu / (tg_sd * rs) / K
    w_in = np.concatenate([lin_w] + w1).T  # (n_in, n_t + K*h)
    b_in = np.concatenate([lin_b] + b1)
    ens = {"m_c": m_c, "s_c": s_c, "g": g, "e": e,
           "w_in": torch.from_numpy(np.ascontiguousarray(w_in, dtype=np.float32)),
           "b_in": torch.from_numpy(b_in.astype(np.float32)),
           "w_out": torch.from_numpy(np.ascontiguousarray(np.concatenate(w2, axis=1).T, dtype=np.float32))}
    folds[0]._ens_cache = (key, ens)
    return ens


def _cut(A: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    """(rows, d) -> (n, w, d) view of the windows at ``starts``."""
    return np.lib.stride_tricks.sliding_window_view(A, w, axis=0)[starts].transpose(0, 2, 1)


def fit_fold_stats(frames: list[np.ndarray], w: int, stride: int) -> FoldModel:
    """Signal and window-statistic normalisation from a fold's training frames."""
    from ridescan_ros.core.frame import window_starts

    sig_mu, sig_sd = nan_stats(np.concatenate(frames))
    stats = []
    for X in frames:
        starts = window_starts(X.shape[0], w, stride)
        if not starts.size:
            continue
        Z = (np.where(np.isfinite(X), X, sig_mu) - sig_mu) / sig_sd
        st = window_stats(_cut(Z, starts, w))
        ok = np.isfinite(_cut(X, starts, w)).all(axis=1)  # (n, d): complete windows
        stats.append(np.where(ok[:, :, None], st, np.nan))
    feat_mu, feat_sd = nan_stats(np.concatenate(stats))
    return FoldModel(sig_mu=sig_mu, sig_sd=sig_sd, feat_mu=feat_mu, feat_sd=feat_sd)


def residual_training_rows(fm: FoldModel, frames: list[np.ndarray], layout: Layout, dt: float,
                           step: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``step``-th valid row of the training frames: inputs (rows, n_in) and
    standardised targets (rows, n_t); also sets the fold's input normalisation."""
    xs, ys = [], []
    for X in frames:
        Xi = np.where(np.isfinite(X), X, fm.sig_mu)
        x = residual_inputs(Xi, layout, dt)
        keep = np.flatnonzero(np.isfinite(x).all(axis=1))[::step]
        xs.append(x[keep])
        ys.append(((X[keep] - fm.sig_mu) / fm.sig_sd)[:, layout.targets])
    x, y = np.concatenate(xs), np.concatenate(ys)
    fm.in_mu, fm.in_sd = nan_stats(x)
    return ((x - fm.in_mu) / fm.in_sd).astype(np.float32), y.astype(np.float32)


def set_residual_scale(fm: FoldModel, net: ResidualNet, x: np.ndarray, y: np.ndarray) -> float:
    """Residual sd per target on the fold's training rows (the term's unit, not a
    threshold); returns the mean squared standardised error."""
    fm.net = net
    r = y - predict(net, x)
    _, fm.res_sd = nan_stats(r)
    return float(np.nanmean(r * r))


@dataclass
class Detector:
    """Ensemble of fold models; scores are averages of their per-signal terms.

    ``w_feat`` and ``w_res`` are per-signal weights (``calibration`` sets them from
    held-out normal windows); a window's contribution of signal ``s`` is
    ``w_feat[s] * feat[s] + w_res[s] * res[s]`` and its raw score is their sum.
    """

    folds: list[FoldModel]
    layout: Layout
    dt: float
    window: int
    stride: int
    unscored: list[int] = field(default_factory=list)
    w_feat: np.ndarray | float = 1.0
    w_res: np.ndarray | float = 1.0

    def parts(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, d) raw frame -> weighted (feat, res) contributions, each (n_windows, d),
        for windows ``k`` = rows ``[k*stride, k*stride+window)``."""
        from ridescan_ros.core.frame import window_starts

        starts = window_starts(X.shape[0], self.window, self.stride)
        with cpu_threads(1):
            f, r = fold_terms(self.folds, X, starts, self.window, self.layout, self.dt, self.unscored)
        return f * np.asarray(self.w_feat), r * np.asarray(self.w_res)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(rows, d) raw frame -> (n_windows, d) per-signal contributions (rows sum to raw)."""
        f, r = self.parts(X)
        return f + r

    def state_dict(self) -> dict[str, torch.Tensor]:
        """All fold networks in one state_dict (keys ``fold<k>.<param>``)."""
        out: dict[str, torch.Tensor] = {}
        for i, fm in enumerate(self.folds):
            if fm.net is not None:
                out.update({f"fold{i}.{k}": v for k, v in fm.net.state_dict().items()})
        return out
