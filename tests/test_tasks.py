"""Task generators: shapes, marker positions, purity, baselines against their closed forms."""

import math

import pytest
import torch

from rnnbench.core.tasks import BLANK, DELIMITER, TASKS, adding, adding_baseline, copy_baseline, copy_memory


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_copy_layout():
    T, B = 15, 64
    x, y = copy_memory(B, T, gen())
    assert x.shape == (B, T + 20, 10) and y.shape == (B, T + 20)
    assert torch.equal(x.sum(-1), torch.ones(B, T + 20))  # one-hot
    sym = x.argmax(-1)
    assert (sym[:, :10] < 8).all()  # ten data symbols a0..a7
    assert (sym[:, 10 : T + 9] == BLANK).all()  # T−1 blanks
    assert (sym[:, T + 9] == DELIMITER).all()  # the delimiter
    assert (sym[:, T + 10 :] == BLANK).all()  # ten blanks while recalling
    assert (y[:, : T + 10] == BLANK).all()
    assert torch.equal(y[:, -10:], sym[:, :10])  # recall the symbols in order


def test_adding_layout():
    T, B = 40, 500
    x, y = adding(B, T, gen())
    assert x.shape == (B, T, 2) and y.shape == (B,)
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert torch.equal(markers.sum(1), torch.full((B,), 2.0))
    first = markers[:, : T // 2].argmax(1)
    second = T // 2 + markers[:, T // 2 :].argmax(1)
    assert torch.equal(markers[:, : T // 2].sum(1), torch.ones(B))  # exactly one in each half
    torch.testing.assert_close(
        y, values.gather(1, first[:, None]).squeeze(1) + values.gather(1, second[:, None]).squeeze(1)
    )
    # positions cover both halves
    assert first.min() == 0 and first.max() == T // 2 - 1 and second.min() == T // 2 and second.max() == T - 1


@pytest.mark.parametrize("name", ["copy", "adding"])
def test_generators_are_pure_functions_of_the_generator(name):
    task = TASKS[name]
    a = task.generate(8, 12, gen(5))
    b = task.generate(8, 12, gen(5))
    c = task.generate(8, 12, gen(6))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_copy_baseline_matches_published_values():
    # literature.md: T=100: 0.1733; 200: 0.0945; 300: 0.0650; 500: 0.0400; 1000: 0.0204
    for T, want in ((100, 0.1733), (200, 0.0945), (300, 0.0650), (500, 0.0400), (1000, 0.0204)):
        assert copy_baseline(T) == pytest.approx(want, abs=6e-5)


def test_copy_baseline_is_the_memoryless_loss():
    """Predicting blanks everywhere and uniform over the 8 symbols in the recall window costs the formula."""
    T, B = 30, 256
    x, y = copy_memory(B, T, gen())
    logits = torch.full((B, T + 20, 10), -1e9)
    logits[:, :, BLANK] = 0.0
    logits[:, -10:, :] = -1e9
    logits[:, -10:, :8] = 0.0
    loss = TASKS["copy"].loss(logits, y).item()
    assert loss == pytest.approx(copy_baseline(T), rel=1e-9)
    assert TASKS["copy"].accuracy(logits, y) == pytest.approx(1 / 8, abs=0.03)  # argmax picks a0: chance


def test_adding_baseline_empirical():
    """Predicting the mean sum, 1, on a large batch gives MSE ≈ Var(U1 + U2) = 1/6."""
    _, y = adding(200_000, 50, gen())
    mse = ((torch.ones_like(y) - y) ** 2).mean().item()
    assert adding_baseline(50) == 1 / 6
    assert mse == pytest.approx(1 / 6, abs=0.002)


def test_accuracy_and_solved():
    copy, add = TASKS["copy"], TASKS["adding"]
    _, y = copy_memory(4, 5, gen())
    perfect = torch.nn.functional.one_hot(y, 10).double() * 10
    assert copy.accuracy(perfect, y) == 1.0
    assert copy.solved(0.0, copy_baseline(5), 1.0) and not copy.solved(0.1, copy_baseline(5), 0.5)
    y = torch.tensor([1.0, 1.0, 1.0, 1.0])
    assert add.accuracy(y + torch.tensor([0.0, 0.039, 0.041, -0.05]), y) == 0.5
    assert add.solved(0.01, 1 / 6, 0.0) and not add.solved(0.02, 1 / 6, 1.0)
    assert math.isclose(add.baseline(10), 1 / 6)
