"""Weight initialisation as data: a scheme name, a gain on W_hh and the LSTM forget-gate bias.

Every scheme draws from one ``torch.Generator`` in the same order for the explicit and the
fused backend, so the same seed gives the same weights in both. Cells are visited in torch.nn's
parameter order (layer 0 forward, layer 0 reverse, layer 1, ...), then the head.

Schemes (``SCHEMES``; each says which cells it applies to):

* ``default``, ``orthogonal``, ``gaussian``: PyTorch's default U(±1/√H) for W_ih and the biases;
  the scheme sets W_hh (times the gain). ``default`` on the orthogonal RNN is expRNN's own
  (``cells.orthogonal``): W_in Kaiming normal, B = exp(A) with Henaff's A, modReLU's b ~ U(±0.01).
* ``xavier``: Glorot & Bengio 2010 uniform, U(±√(6/(fan_in+fan_out))), applied to each gate's
  H×I block of W_ih and H×H block of W_hh separately (as Arjovsky et al. 2016's complex_RNN
  code does: one matrix per gate), and to the head; every bias 0 (the forget-gate bias too,
  unless ``forget_bias`` is given). W_hh is then multiplied by the gain.
* ``identity``: the IRNN's recurrent matrix (Le, Jaitly & Hinton 2015), W_hh = gain·I and every
  bias 0; W_ih and the head from ``default``'s distribution. Vanilla RNN only: a gated cell's
  gate blocks have no identity to keep.
* ``chrono``: Tallec & Ollivier 2018, LSTM and GRU. Weights as ``default``; then per cell H draws
  u ~ U[1, T_max − 1] and the gate that keeps the old state gets bias log(u), so its
  characteristic time 1/(1 − σ(b)) = 1 + u spreads over [2, T_max]. LSTM: b_f = log(u),
  b_i = −log(u) (the paper's form). GRU: the update gate z is the only gate between the old
  state and the new one (the input gate is tied to it), so it alone gets the bias; which sign
  depends on the form: torch.nn's reset-after GRU keeps the old state with z
  (h' = (1 − z)·n + z·h), so b_z = log(u); the notes' GRU keeps it with 1 − z
  (h = (1 − z)·h + z·h̃), so b_z = −log(u). Either way the keep gate is σ(log u) = u/(1 + u).
  Only the r and z gates' other biases and the candidate's stay PyTorch's default.

complex_RNN's LSTM options draw after the head, so a run with them has every other weight of the
same run without them: the peephole V_o (Glorot under ``xavier``, else U(±1/√H)); learned initial
states start at 0.

A bias the gate sees is ``bias_ih + bias_hh``; a scheme that sets it puts the value in ``bias_ih``
and 0 in ``bias_hh`` (torch.nn adds both).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnbench.core.cells import is_user

# row blocks (in units of H) of the gate whose bias keeps the old state: LSTM i, f, g, o -> f;
# GRU r, z, n -> z
KEEP_GATE = {"lstm": 1, "gru": 1}


def _default(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # PyTorch's default U(-1/sqrt(H), 1/sqrt(H)), scaled by the gain
    bound = 1.0 / math.sqrt(hidden)
    nn.init.uniform_(w_hh, -bound, bound, generator=g)
    w_hh.mul_(gain)


def _orthogonal(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # each gate's (H, H) block orthogonal: all singular values equal to the gain
    for block in w_hh.split(hidden, 0):
        nn.init.orthogonal_(block, gain=gain, generator=g)


def _gaussian(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # entries N(0, g²/H): spectral radius ≈ g for large H (circular law), σ_max ≈ 2g
    nn.init.normal_(w_hh, 0.0, gain / math.sqrt(hidden), generator=g)


def _identity(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # the IRNN: W_hh = gain·I, no draws (the vanilla RNN's W_hh is a single (H, H) block)
    w_hh.copy_(torch.eye(hidden, dtype=w_hh.dtype) * gain)


@dataclass(frozen=True)
class InitArgs:
    """What a scheme may read besides the generator: the cell kind and the scheme's knobs."""

    cell: str  # rnn | lstm | gru
    gain: float
    forget_bias: float | None  # LSTM only; None keeps the scheme's own
    reset_after: bool = False  # GRU form (decides the sign of chrono's update-gate bias)
    chrono_tmax: int | None = None  # chrono only: T_max of U[1, T_max − 1]


class _Draws:
    """Uniform draws from one generator, made on the CPU in float64 then copied, so that device
    and dtype do not change the draws."""

    def __init__(self, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)

    def uniform(self, shape: torch.Size | tuple[int, ...], low: float, high: float) -> Tensor:
        return torch.empty(shape, dtype=torch.float64).uniform_(low, high, generator=self.g)

    def uniform_(self, p: Tensor, bound: float) -> None:
        p.copy_(self.uniform(p.shape, -bound, bound))


def _pytorch_cell(w_hh_init: Callable[[Tensor, int, float, torch.Generator], None]):
    """W_ih and both biases U(±1/√H) (PyTorch's default), then W_hh by ``w_hh_init``: the order
    every scheme before ``xavier`` has drawn in, kept so that their weights do not change."""

    def init(cell: nn.Module, a: InitArgs, d: _Draws) -> None:
        H = cell.hidden_size
        for name in ("weight_ih", "bias_ih", "bias_hh"):
            d.uniform_(getattr(cell, name), 1.0 / math.sqrt(H))
        w_hh = torch.empty(cell.weight_hh.shape, dtype=torch.float64)
        w_hh_init(w_hh, H, a.gain, d.g)
        cell.weight_hh.copy_(w_hh)

    return init


def _glorot_blocks(w: Tensor, hidden: int, d: _Draws) -> Tensor:
    """Each (H, n) gate block of ``w`` (G·H, n) Glorot uniform, U(±√(6/(n + H))), block by block."""
    # w: (G·H, n); a block maps n inputs to H outputs: fan_in n, fan_out H
    n = w.shape[1]
    bound = math.sqrt(6.0 / (n + hidden))
    return torch.cat([d.uniform((hidden, n), -bound, bound) for _ in range(w.shape[0] // hidden)])


def _xavier_cell(cell: nn.Module, a: InitArgs, d: _Draws) -> None:
    H = cell.hidden_size
    cell.weight_ih.copy_(_glorot_blocks(cell.weight_ih, H, d))
    cell.weight_hh.copy_(_glorot_blocks(cell.weight_hh, H, d) * a.gain)
    cell.bias_ih.zero_()
    cell.bias_hh.zero_()


def _identity_cell(cell: nn.Module, a: InitArgs, d: _Draws) -> None:
    _pytorch_cell(_identity)(cell, a, d)  # W_ih from default's distribution, in default's order
    cell.bias_ih.zero_()
    cell.bias_hh.zero_()


def _chrono_cell(cell: nn.Module, a: InitArgs, d: _Draws) -> None:
    _pytorch_cell(_default)(cell, a, d)
    H = cell.hidden_size
    keep = d.uniform((H,), 1.0, float(a.chrono_tmax - 1)).log()  # (H,) log U[1, T_max − 1]
    k = KEEP_GATE[a.cell]
    sign = -1.0 if a.cell == "gru" and not a.reset_after else 1.0  # the notes' GRU keeps with 1 − z
    cell.bias_ih[k * H : (k + 1) * H] = sign * keep
    cell.bias_hh[k * H : (k + 1) * H] = 0.0
    if a.cell == "lstm":  # input gate (rows 0:H) closed as much as the forget gate is open
        cell.bias_ih[:H] = -keep
        cell.bias_hh[:H] = 0.0


def _pytorch_head(head: nn.Linear, d: _Draws) -> None:
    # nn.Linear's default bound, 1/sqrt(fan_in), for weight and bias alike
    d.uniform_(head.weight, 1.0 / math.sqrt(head.in_features))
    d.uniform_(head.bias, 1.0 / math.sqrt(head.in_features))


def _glorot_head(head: nn.Linear, d: _Draws) -> None:
    out, n = head.weight.shape
    d.uniform_(head.weight, math.sqrt(6.0 / (n + out)))
    head.bias.zero_()


@dataclass(frozen=True)
class Scheme:
    """One initialisation: how it sets a cell and the head, and which cells it applies to."""

    cell_init: Callable[[nn.Module, InitArgs, _Draws], None]
    head_init: Callable[[nn.Linear, _Draws], None]
    cells: tuple[str, ...]
    description: str


_pytorch_default = _pytorch_cell(_default)


def _default_cell(cell: nn.Module, a: InitArgs, d: _Draws) -> None:
    """PyTorch's default; the orthogonal RNN's is expRNN's (``OrthogonalCell.reset_parameters``:
    W_in Kaiming normal, B = exp(A) with A Henaff's, modReLU's b ~ U(±0.01)), from the same generator."""
    if a.cell != "orthogonal":
        _pytorch_default(cell, a, d)
        return
    if a.gain != 1.0:  # B is orthogonal: a gain has nothing to scale
        raise ValueError(f"init_gain {a.gain!r} does not apply to cell 'orthogonal' (B stays orthogonal); use 1")
    cell.reset_parameters(d.g)


ALL_CELLS = ("rnn", "lstm", "gru")  # the cells with torch.nn's parameters (weight_hh in gate blocks, two biases)
SCHEMES: dict[str, Scheme] = {
    "default": Scheme(
        _default_cell, _pytorch_head, (*ALL_CELLS, "orthogonal"), "PyTorch's default, U(±1/√H), W_hh × gain"
    ),
    "orthogonal": Scheme(
        _pytorch_cell(_orthogonal), _pytorch_head, ALL_CELLS, "each gate's W_hh block orthogonal × gain"
    ),
    "gaussian": Scheme(_pytorch_cell(_gaussian), _pytorch_head, ALL_CELLS, "W_hh entries N(0, gain²/H)"),
    "xavier": Scheme(_xavier_cell, _glorot_head, ALL_CELLS, "Glorot uniform per gate block, biases 0 (Arjovsky 2016)"),
    "identity": Scheme(_identity_cell, _pytorch_head, ("rnn",), "W_hh = gain·I, biases 0 (IRNN, Le et al. 2015)"),
    "chrono": Scheme(_chrono_cell, _pytorch_head, ("lstm", "gru"), "keep-gate bias log U[1, T_max−1] (Tallec 2018)"),
}
# name -> scheme; the CLI, the config check and the schema test read the names from here
INITS = SCHEMES


def check_applies(scheme: str, cell: str) -> None:
    """Refuse a scheme on a cell it does not apply to, naming both and the cells it does apply to. A
    user cell takes ``default`` only: its own initialisation (``models.build_model`` seeds it)."""
    if is_user(cell):
        if scheme != "default":
            raise ValueError(
                f"init {scheme!r} does not apply to user cell {cell!r}: a user cell keeps its own initialisation "
                "(init 'default', drawn from the run's seed)"
            )
        return
    if cell not in SCHEMES[scheme].cells:
        raise ValueError(
            f"init {scheme!r} does not apply to cell {cell!r}; it applies to: {', '.join(SCHEMES[scheme].cells)}"
        )


@torch.no_grad()
def initialise(
    cells: list[nn.Module],
    head: nn.Linear,
    scheme: str,
    gain: float,
    forget_bias: float | None,
    seed: int,
    cell: str,
    reset_after: bool = False,
    chrono_tmax: int | None = None,
) -> None:
    """Initialise the cells (torch.nn parameter order), then the head, from ``seed``.

    ``forget_bias`` (LSTM only; other cells ignore it) sets b_ih[H:2H] to it and b_hh[H:2H] to 0,
    so their sum -- the bias the forget gate sees -- equals it.
    """
    check_applies(scheme, cell)
    if scheme == "chrono" and (chrono_tmax is None or chrono_tmax < 3):
        raise ValueError(f"init 'chrono' needs chrono_tmax >= 3 (U[1, T_max - 1]), got {chrono_tmax!r}")
    s = SCHEMES[scheme]
    args = InitArgs(cell, gain, forget_bias, reset_after, chrono_tmax)
    d = _Draws(seed)
    if is_user(cell):  # its weights are its constructor's, drawn from the seed (models.build_model)
        s.head_init(head, d)
        return
    for c in cells:
        s.cell_init(c, args, d)
        if forget_bias is not None and cell == "lstm":
            H = c.hidden_size
            c.bias_ih[H : 2 * H] = forget_bias
            c.bias_hh[H : 2 * H] = 0.0
    s.head_init(head, d)
    for c in cells:  # complex_RNN's options draw last, so that every other weight is as without them
        _their_options(c, scheme, d)


def _their_options(cell: nn.Module, scheme: str, d: _Draws) -> None:
    """The peephole V_o: Glorot uniform under ``xavier`` (complex_RNN draws it as its other H×H
    matrices), else PyTorch's default U(±1/√H); no gain. Learned h_0, c_0: zeros (complex_RNN's)."""
    H = cell.hidden_size
    if getattr(cell, "peephole", False):
        d.uniform_(cell.weight_co, math.sqrt(6.0 / (2 * H)) if scheme == "xavier" else 1.0 / math.sqrt(H))
    for name in ("initial_h", "initial_c"):
        if hasattr(cell, name):
            getattr(cell, name).zero_()
