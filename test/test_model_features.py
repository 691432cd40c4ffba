"""Model inputs and statistics (numpy parts of ridescan_ros.model)."""

from __future__ import annotations

import numpy as np

from ridescan_ros.core.profiles import UR_JOINTS
from ridescan_ros.model.aggregate import stat_terms, top_index, window_aggregate
from ridescan_ros.model.features import (file_stats, make_layout, residual_inputs, unscored,
                                         window_stats)

UR_SIGNALS = [f"{j}.{f}" for j in UR_JOINTS for f in ("position", "velocity", "effort")] + [
    "wrench.force_x", "speed_scaling.data"]


def test_layout_pairs_joints_and_targets() -> None:
    lay = make_layout(UR_SIGNALS)
    assert len(lay.joints) == 6 and lay.active
    assert [UR_SIGNALS[i] for i in lay.targets] == [f"{j}.effort" for j in UR_JOINTS] + ["wrench.force_x"]
    assert lay.n_inputs == 36
    # wrench-only recordings (pick CSVs) have no kinematics: no residual model
    assert not make_layout(["wrench.force_x", "wrench.force_z"]).active


def test_spot_layout_uses_body_attitude() -> None:
    sig = ["a.position", "a.velocity", "a.effort", "odom.pose_orientation_roll", "odom.pose_orientation_pitch"]
    lay = make_layout(sig)
    assert lay.attitude == [3, 4] and lay.n_inputs == 6 + 4


def test_interior_rows_do_not_depend_on_rows_outside_the_window() -> None:
    """What makes window k the same offline (whole recording) and live (just that window)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(UR_SIGNALS)))
    lay = make_layout(UR_SIGNALS)
    whole = residual_inputs(X, lay, 0.008)
    part = residual_inputs(X[50:100], lay, 0.008)
    np.testing.assert_array_equal(whole[51:99], part[1:-1])
    assert np.isnan(part[0]).all() and np.isnan(part[-1]).all()


def test_acceleration_is_central_difference() -> None:
    t = np.arange(100) * 0.01
    X = np.stack([np.sin(t), np.cos(t), np.zeros_like(t)], axis=1)  # pos, vel=cos, effort
    x = residual_inputs(X, make_layout(["j.position", "j.velocity", "j.effort"]), 0.01)
    np.testing.assert_allclose(x[1:-1, 5], -np.sin(t[1:-1]), atol=1e-4)


def test_window_stats_shapes_and_values() -> None:
    Z = np.arange(24, dtype=float).reshape(2, 4, 3)
    st = window_stats(Z)
    assert st.shape == (2, 3, 4)
    np.testing.assert_allclose(st[0, 0], [4.5, np.std([0, 3, 6, 9]), 0.0, 9.0])


def test_file_stats_two_sided_on_log_scale() -> None:
    """A missing transient (quiet recording) scores like one twice as big."""
    rng = np.random.default_rng(1)
    base = [rng.normal(scale=1.0, size=(500, 1)) for _ in range(20)]
    st = np.stack([file_stats(b, 5) for b in base])
    mu, sd = st.mean(axis=0), st.std(axis=0)
    quiet = stat_terms(file_stats(rng.normal(scale=0.25, size=(500, 1)), 5), mu, sd, [])
    loud = stat_terms(file_stats(rng.normal(scale=4.0, size=(500, 1)), 5), mu, sd, [])
    usual = stat_terms(file_stats(rng.normal(scale=1.0, size=(500, 1)), 5), mu, sd, [])
    assert quiet[0] > 10 * usual[0] and loud[0] > 10 * usual[0]
    assert 0.3 < quiet[0] / loud[0] < 3.0


def test_missing_signal_has_nan_file_stats_and_counts_zero() -> None:
    Z = np.zeros((100, 2))
    Z[:, 0] = np.random.default_rng(0).normal(size=100)
    Z[:, 1] = np.nan
    st = file_stats(Z, 3)
    assert np.isnan(st[1]).all()
    terms = stat_terms(st, np.zeros((2, 4)), np.ones((2, 4)), unscored=[])
    assert terms[1] == 0.0


def test_unscored_context_signals() -> None:
    assert [UR_SIGNALS[i] for i in unscored("UR6", UR_SIGNALS)] == ["speed_scaling.data"]
    assert unscored("wheeled_mobile", ["odom.pose_position_x"]) == []


def test_top_windows_aggregate() -> None:
    raw = np.array([1.0, 5.0, 2.0] + [1.0] * 37)
    assert list(top_index(raw)) == [1, 2]  # ceil(5 % of 40) = 2
    assert window_aggregate(raw) == 3.5
    assert window_aggregate(np.zeros(0)) == 0.0


def test_wrench_magnitude_column_is_shared_by_its_components() -> None:
    from ridescan_ros.model.aggregate import fold_groups, standardised_file_stats
    from ridescan_ros.model.features import magnitude_groups

    sig = ["wrench.force_x", "wrench.force_y", "wrench.force_z", "wrench.torque_x", "other"]
    groups = magnitude_groups(sig)
    assert groups == [[0, 1, 2]]  # torque has only one axis here: no magnitude
    X = np.random.default_rng(0).normal(size=(300, 5))
    st = standardised_file_stats(X, np.zeros(5), np.ones(5), 100.0, groups)
    assert st.shape == (6, 4)
    per_sig = fold_groups(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 3.0]), 5, groups)
    assert per_sig.tolist() == [2.0, 2.0, 2.0, 1.0, 1.0] and per_sig.sum() == 8.0


def test_shared_fold_terms_equal_each_fold_alone() -> None:
    """The batched ensemble (window stats once, networks as one product): its feat terms
    are the mean of each fold's own; residuals are averaged over folds before squaring."""
    import torch

    from ridescan_ros.model.detector import FoldModel, fold_terms
    from ridescan_ros.model.network import ResidualNet

    rng = np.random.default_rng(3)
    sig = ["a.position", "a.velocity", "a.effort", "wrench.force_x"]
    layout = make_layout(sig)
    X = rng.normal(size=(400, 4))
    X[10:20, 3] = np.nan
    folds = []
    for k in range(3):
        torch.manual_seed(k)
        folds.append(FoldModel(sig_mu=rng.normal(size=4), sig_sd=rng.uniform(0.5, 2, 4),
                               feat_mu=rng.normal(size=(4, 4)), feat_sd=rng.uniform(0.5, 2, (4, 4)),
                               in_mu=rng.normal(size=layout.n_inputs), in_sd=rng.uniform(0.5, 2, layout.n_inputs),
                               res_sd=rng.uniform(0.5, 2, len(layout.targets)),
                               net=ResidualNet(layout.n_inputs, len(layout.targets), 8).eval()))
    starts = np.arange(0, 300, 50)
    f, r = fold_terms(folds, X, starts, 100, layout, 0.01, [])
    singles = [fold_terms([fm], X, starts, 100, layout, 0.01, []) for fm in folds]
    np.testing.assert_allclose(f, np.mean([s[0] for s in singles], axis=0), rtol=1e-6)
    # residual: each fold's own network on its own standardisation, averaged, window mean squared
    x = residual_inputs(np.where(np.isfinite(X), X, 0.0), layout, 0.01)
    tg = layout.targets
    rs = []
    for fm in folds:
        with torch.no_grad():
            yhat = fm.net(torch.from_numpy(((x[1:-1] - fm.in_mu) / fm.in_sd).astype(np.float32))).double().numpy()
        rs.append(((X[1:-1][:, tg] - fm.sig_mu[tg]) / fm.sig_sd[tg] - yhat) / fm.res_sd)
    rm = np.mean(rs, axis=0)  # rows 1..398
    want = np.array([np.nanmean(rm[s:s + 98], axis=0) ** 2 for s in starts])  # rows s+1..s+98, NaN targets left out
    np.testing.assert_allclose(r[:, tg], want, rtol=1e-3, atol=1e-6)
    assert f[0, 3] == 0 and f[1, 3] > 0 and (r > 0).any()  # NaN rows 10-19: window 0 only


def test_normalisation_ignores_a_rare_garbage_value() -> None:
    """BR-19: one 1e9 N force among readings of tens must not blind the signal."""
    from ridescan_ros.model.detector import nan_stats

    rng = np.random.default_rng(3)
    clean = rng.normal(20.0, 1.5, (20_000, 4))
    clean[:, 2] = 1.0  # a constant column (MAD 0) is taken as it is
    dirty = clean.copy()
    dirty[777, 0] = 1e9
    dirty[5, 1] = np.nan
    mu, sd = nan_stats(clean)
    np.testing.assert_allclose(sd[[0, 1, 3]], clean[:, [0, 1, 3]].std(axis=0, ddof=1), rtol=1e-12)
    mu2, sd2 = nan_stats(dirty)
    assert abs(sd2[0] - sd[0]) < 0.01 and abs(mu2[0] - mu[0]) < 0.01
    assert sd2[2] == sd[2] and mu2[2] == 1.0
