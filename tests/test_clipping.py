"""Gradient clipping: norm clipping bounds the total norm, value clipping bounds every entry."""

import pytest
import torch

from rnnbench.training.clipping import clipper, total_norm


def grads(scale=10.0):
    g = torch.Generator().manual_seed(0)
    return [scale * torch.randn(5, 3, generator=g), scale * torch.randn(7, generator=g)]


def test_total_norm_is_the_l2_norm_of_everything():
    gs = grads()
    assert total_norm(gs).item() == pytest.approx(torch.cat([g.flatten() for g in gs]).norm().item())


def test_norm_clipping_rescales_to_the_threshold():
    gs = grads()
    before = [g.clone() for g in gs]
    norm, clipped = clipper("norm", 1.0)(gs)
    assert clipped and norm.item() == pytest.approx(total_norm(before).item())  # the norm before clipping
    assert total_norm(gs).item() <= 1.0 + 1e-12
    assert total_norm(gs).item() == pytest.approx(1.0)
    for a, b in zip(gs, before, strict=True):  # direction kept (Pascanu's Algorithm 1)
        torch.testing.assert_close(a, b / norm)


def test_norm_clipping_leaves_small_gradients_alone():
    gs = grads(scale=1e-3)
    before = [g.clone() for g in gs]
    _, clipped = clipper("norm", 1.0)(gs)
    assert not clipped and all(torch.equal(a, b) for a, b in zip(gs, before, strict=True))


def test_value_clipping_bounds_every_entry():
    gs = grads()
    norm, clipped = clipper("value", 0.5)(gs)
    assert clipped and norm.item() > 0.5
    assert all(g.abs().max().item() <= 0.5 for g in gs)
    assert any((g.abs() == 0.5).any() for g in gs)


def test_no_clipping_records_the_norm_and_changes_nothing():
    gs = grads()
    before = [g.clone() for g in gs]
    norm, clipped = clipper("norm", None)(gs)
    assert not clipped and norm.item() == pytest.approx(total_norm(before).item())
    assert all(torch.equal(a, b) for a, b in zip(gs, before, strict=True))


def test_inf_gradient_is_reported_not_turned_into_nan():
    gs = [torch.tensor([float("inf"), 1.0])]
    norm, clipped = clipper("norm", 1.0)(gs)
    assert norm.item() == float("inf") and clipped
    assert gs[0][1].item() == 1.0  # left for the divergence check, not scaled into NaN
