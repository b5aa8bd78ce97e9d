"""The orthogonal RNN of expRNN (Lezcano-Casado & Martínez-Rubio 2019): its equations, its cell,
its initialisation. No hand-written BPTT (``explicit-bptt`` runs it with autograd) and no torch.nn
twin (the fused backend refuses it).

    h_t = modReLU(W_in x_t + B h_{t-1}),   modReLU(z) = sign(z) · relu(|z| + b),

B orthogonal through PyTorch's own ``torch.nn.utils.parametrizations.orthogonal`` (written by the
same author): B = map(A), A = X − Xᵀ skew-symmetric from the lower triangle of the trained
parameter X, ``map`` the matrix exponential (default) or the Cayley map (I + A/2)(I − A/2)⁻¹.
``use_trivialization=False``: the gradient flows through the map at A itself, expRNN's "static"
trivialisation (its 1_copying.py also offers a dynamic one that moves the base every K steps;
not done here). Parameters: ``weight_ih`` (W_in, no input bias, as expRNN), ``weight_hh`` (B,
computed from ``parametrizations.weight_hh.original``) and ``bias`` (modReLU's b).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from rnnbench.core.cells.base import Cell, CellSpec, Option

ORTHOGONAL_MAPS = ("matrix_exp", "cayley")  # RunConfig.orthogonal_map's choices


def modrelu(z: Tensor, b: Tensor) -> Tensor:
    """sign(z) · relu(|z| + b): the magnitude shifted by b, the sign kept (b = 0: the identity)."""
    return torch.sign(z) * torch.relu(z.abs() + b)


def orthogonal_step(cell: nn.Module, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (…, B, H) = W_in x_t; h: (…, B, H); B h_{t-1} with B orthogonal
    return modrelu(cell.addmm(gx, h, cell.weight_hh), cell.bias)


def no_input_bias(cell: nn.Module) -> None:
    """expRNN's input kernel has no bias: ``project_input`` is W_in x alone."""
    return None


def henaff_skew(angles: Tensor, hidden: int) -> Tensor:
    """Henaff et al. 2016's skew-symmetric A (expRNN's ``henaff_init_``): 2×2 blocks
    [[0, θ_k], [−θ_k, 0]] on the diagonal, θ_k the ``angles`` (H // 2 of them); exp(A) is a
    block-diagonal rotation by θ_k. An odd H leaves the last unit alone (a 1 on exp(A)'s diagonal)."""
    a = torch.zeros(hidden, hidden, dtype=angles.dtype)  # (H, H)
    k = torch.arange(angles.numel())
    a[2 * k, 2 * k + 1] = angles
    return a - a.T


def lower_for(skew: Tensor, orthogonal_map: str) -> Tensor:
    """The parameter X (its lower triangle counts) for which ``orthogonal_map`` gives exp(``skew``):
    torch forms A = X − Xᵀ from X's lower triangle. The Cayley map turns a block [[0, a], [−a, 0]]
    into a rotation by 2·atan(a/2), so a = 2·tan(θ/2) gives the same rotation by θ: the same B at
    initialisation under either map."""
    if orthogonal_map == "cayley":
        skew = 2 * torch.tan(skew / 2)  # elementwise: only the blocks' ±θ entries are nonzero
    return skew.tril()


class OrthogonalCell(Cell):
    """expRNN's orthogonal RNN: h_t = modReLU(W_in x_t + B h_{t-1}), B orthogonal."""

    gates = 1
    equations = staticmethod(orthogonal_step)
    input_bias = staticmethod(no_input_bias)
    sequence = None  # no hand-written BPTT: ``explicit-bptt`` takes the autograd path

    def __init__(
        self, input_size: int, hidden_size: int, orthogonal_map: str = "matrix_exp", learn_initial_state: bool = False
    ) -> None:
        nn.Module.__init__(self)  # not Cell's: this cell has its own parameters
        if orthogonal_map not in ORTHOGONAL_MAPS:
            raise ValueError(f"orthogonal_map {orthogonal_map!r} is not allowed; choose one of: {ORTHOGONAL_MAPS}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.orthogonal_map = orthogonal_map
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(hidden_size))  # modReLU's b
        parametrizations.orthogonal(self, "weight_hh", orthogonal_map=orthogonal_map, use_trivialization=False)
        self.reset_parameters()
        self.add_initial_state(learn_initial_state)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """expRNN's: W_in Kaiming normal (ReLU gain), A Henaff, b ~ U(−0.01, 0.01); draws in that order."""
        with torch.no_grad():
            std = math.sqrt(2.0 / self.input_size)  # kaiming_normal_(nonlinearity="relu"), fan_in = I
            w = torch.empty(self.weight_ih.shape, dtype=torch.float64).normal_(0.0, std, generator=generator)
            angles = torch.empty(self.hidden_size // 2, dtype=torch.float64).uniform_(
                -math.pi, math.pi, generator=generator
            )
            b = torch.empty(self.hidden_size, dtype=torch.float64).uniform_(-0.01, 0.01, generator=generator)
            self.set_weights(w, henaff_skew(angles, self.hidden_size), b)

    def set_weights(self, w_ih: Tensor, skew: Tensor, bias: Tensor) -> None:
        """W_in, B = exp(``skew``) (A skew-symmetric) and modReLU's b, copied in the cell's dtype."""
        with torch.no_grad():
            self.weight_ih.copy_(w_ih)
            self.orthogonal_parameters()[0].copy_(lower_for(skew, self.orthogonal_map))
            self.bias.copy_(bias)

    def orthogonal_parameters(self) -> list[nn.Parameter]:
        """The parameters behind B (trained on their own learning rate, ``RunConfig.orthogonal_lr``)."""
        return [self.parametrizations.weight_hh.original]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, orthogonal_map={self.orthogonal_map}"


SPEC = CellSpec(
    "orthogonal", "orthogonal RNN (modReLU)", OrthogonalCell, None, saved_per_unit=5, cost=2,
    options={
        "orthogonal_map": Option("matrix_exp", "chooses the map onto orthogonal matrices", builds=True),
        "orthogonal_lr": Option(None, "is the learning rate of the orthogonal RNN's B"),
    },
    stackable=False,  # B's parametrisation lives on the cell; a stacked (M, H, H) B is not written
)  # fmt: skip
