"""The one registry of published claims: every report's literature rows are built from here.

One record per claim (``Claim``): its source, what it says, the paper's settings, the paper's curve
read at stated budgets (``Reading``), the reports that check it and the rule they judge it by. The
numbers are the papers' (``shared/reference/literature.md`` holds where each was read); ours always
come from the tables. REPORT.md's literature table (``rnnbench.study.claims.literature``), the paper studies'
reports (``rnnbench.study.papers``, ``--study paper-cpu | paper-gpu``) and figure 1b take every
claim text, setting and rule from ``CLAIMS``; ``tests/test_claims.py`` fails on a paper cited in any
other study module's strings.

Trained claims are judged by one rule (``record.rule_text``, beside ``Claim`` and ``Reading``): per seed, held-out loss / memoryless baseline;
**at the baseline** at or above ``AT_BASELINE``, **beats** it below, **convincingly** below
``CONVINCING``; the seeds' mean with its interval (``rnnbench.study.claims.verdicts``) must lie in the paper's
category to agree, outside it to disagree, and a verdict whose interval straddles the line is
``inconclusive at n seeds``. A claim is judged at each budget the paper's curve was read at (its
``readings``) where our runs were evaluated there.
"""

from __future__ import annotations

from rnnbench.study.claims.record import PAPERS, REPORT, Claim, Reading

ARJOVSKY = "Arjovsky, Shah & Bengio 2016"
_SHARED = "RMSprop 1e-3 decay 0.9, batch 20, Glorot, elementwise clip 1"
ARJ_ADDING_LSTM = f"H 128, {_SHARED}, forget bias 1, peephole, learned h_0 and c_0; adding batch 20 or 50"
ARJ_ADDING_RNN = f"H 128, {_SHARED}, learned h_0; adding batch 20 or 50"
ARJ_ADDING_IRNN = f"H 128, ReLU, W_hh = I, biases 0, {_SHARED}, learned h_0; adding batch 20 or 50"
ARJ_COPY_LSTM = f"H 40, {_SHARED}, forget bias 1, peephole, learned h_0 and c_0"
ARJ_COPY_RNN = f"H 80, {_SHARED}, learned h_0"


# our models that stand for the paper's: its own model as complex_RNN trains it (a variant of the paper configs)
# first, then ours (the notes' cell at their settings, which differs from theirs where the report says)
MODELS = {"lstm": ("arjovsky-lstm", "lstm"), "rnn": ("rnn",), "irnn": ("irnn",)}


def _arj_trained(task: str, cell: str, lengths: dict[int, tuple], says: str, category: str, settings: str):
    """One claim per length; ``lengths`` maps each to the readings of the paper's figure at it (most have none)."""
    return tuple(
        Claim(
            key=f"arjovsky-{task}-{cell}-{T}",
            source=f"{ARJOVSKY}, experiments ({task})",
            says=says,
            settings=settings,
            rule="trained: our rule (rule_text), at the paper's readings and at its scripts' 20,000 steps",
            checked_in=PAPERS,
            task=task,
            cell=cell,
            length=T,
            category=category,
            readings=readings,
            checked_by="config/paper-cpu.yaml (T = 100, 200; copy 100), config/paper-gpu.yaml (every T)",
            models=MODELS[cell],
        )
        for T, readings in lengths.items()
    )


# The curves read off Arjovsky et al.'s figures (literature.md: adding T = 100 and 400, copy T = 100) at the
# budgets a study evaluates; where the figure was read on either side of a budget and the two readings are in
# the same category, the budget between them is in it too (the curves are monotone there), and the reading
# says so.
_ADDING_100_LSTM = (
    Reading(1_500, "leaves the 0.167 baseline (from about 1,000)", "beats"),
    Reading(3_000, "near 0.01", "convincing", 0.01 * 6),
    Reading(10_000, "between 0.01 (at 3,000) and 0.005 (at 30,000)", "convincing"),
    Reading(20_000, "between 0.01 (at 3,000) and 0.005 (at 30,000)", "convincing"),
)
_ADDING_400_LSTM = (
    Reading(3_000, "on the baseline (leaves it at about 7,500–8,000)", "baseline", 1.0),
    Reading(15_000, "near 0.02", "beats", 0.02 * 6),
    Reading(30_000, "about 0.005", "convincing", 0.005 * 6),
)
_ADDING_RNN = tuple(
    Reading(step, "on the baseline (with spikes) for all of the figure's 30,000 steps", "baseline", 1.0)
    for step in (3_000, 10_000, 20_000)
)
_COPY_100_LSTM = (
    Reading(3_000, "on the 0.1733 baseline", "baseline", 1.0),
    Reading(10_000, "on the 0.1733 baseline, creeping below it from about here", "baseline", 1.0),
    Reading(20_000, "between the baseline (at 10,000) and 0.145 (0.84×, at 50,000)", None),
    Reading(50_000, "about 0.145 (0.84× the baseline)", "beats", 0.145 / 0.1733),
)
_COPY_RNN = tuple(
    Reading(step, "on the baseline for all of the figure's 50,000 steps", "baseline", 1.0)
    for step in (3_000, 10_000, 20_000)
)

TRAINED = (
    *_arj_trained("adding", "lstm", {100: _ADDING_100_LSTM, 200: (), 400: _ADDING_400_LSTM},
                  "beats the baseline convincingly (up to T = 400)", "convincing", ARJ_ADDING_LSTM),
    *_arj_trained("adding", "lstm", {750: ()}, "beats the baseline, far from 0 (about 0.08)", "beats", ARJ_ADDING_LSTM),
    *_arj_trained("adding", "rnn", {100: _ADDING_RNN, 200: (), 400: _ADDING_RNN, 750: ()},
                  "never beats the baseline (MSE ≈ 0.167)", "baseline", ARJ_ADDING_RNN),
    *_arj_trained("adding", "irnn", {100: (), 200: (), 400: (), 750: ()}, "the IRNN never beats the baseline",
                  "baseline", ARJ_ADDING_IRNN),
    *_arj_trained("copy", "lstm", {100: _COPY_100_LSTM}, "beats the baseline (0.1733), only at T = 100", "beats",
                  ARJ_COPY_LSTM),
    *_arj_trained("copy", "lstm", {200: (), 300: (), 500: ()}, "does not beat the baseline (beats it only at T = 100)",
                  "baseline", ARJ_COPY_LSTM),
    *_arj_trained("copy", "rnn", {100: _COPY_RNN, 200: (), 300: (), 500: ()}, "sits at the baseline (10·log 8/(T+20))",
                  "baseline", ARJ_COPY_RNN),
)  # fmt: skip

HOCHREITER_ADDING = Claim(
    key="hochreiter-adding-100",
    checked_by="config/paper-cpu.yaml (adding T = 100, every model)",
    source="Hochreiter & Schmidhuber 1997, §5.4, Table 7",
    says="the LSTM solves adding T = 100 after 74,000 training sequences (mean of 10 trials)",
    settings="their variant: values in [−1, 1], markers in the first 10 and first T/2 − 1 steps, lengths in "
    "[T, 1.1T), target 0.5 + (X1+X2)/4, online training; correct when |error| < 0.04",
    rule="not comparable at matched settings (another variant of the task): shown for scale, sequences seen until "
    "our held-out accuracy under their criterion first reaches 0.99",
    checked_in=PAPERS,
    task="adding",
    cell="lstm",
    length=100,
)
VANISHING = Claim(
    key="vanishing",
    checked_by="config/config.yaml (the adding sweep's probes at initialisation)",
    source="Hochreiter 1991; Pascanu et al. 2013 §2.1",
    says="the tanh RNN's gradient vanishes exponentially with the time lag when |f′·w| < 1",
    settings="any (a property of the recurrence)",
    rule="agrees when ‖∂L/∂h_t‖ shrinks per step (fitted factor < 1) at initialisation",
    checked_in=(REPORT,),
)
GRADIENT_FIGURE_RNN = Claim(
    key="arjovsky-gradient-rnn",
    checked_by="config/config.yaml (init_probes, label paper)",
    source=f"{ARJOVSKY} (gradient figure)",
    says="at initialisation the tanh RNN's gradient falls by about 13 orders of magnitude over 1000 steps "
    "(≈ ×0.97 per step)",
    settings="adding, T = 1000, H = 128; Glorot uniform per matrix, biases 0",
    rule="agrees when 13 decades lie within the range of decades our seeds lose over the sequence",
    checked_in=(REPORT, *PAPERS),
    readings=(Reading(1000, "about 13 decades lost", None),),
)
GRADIENT_RNN_DECADES, GRADIENT_T = 13.0, 1000  # the tanh RNN's reading, as a number the figures draw
GRADIENT_LSTM_LEVEL, GRADIENT_LSTM_DISTANCE = 1e-23, 550  # the LSTM's: below this level within this distance
GRADIENT_FIGURE_LSTM = Claim(
    key="arjovsky-gradient-lstm",
    checked_by="config/config.yaml (init_probes, label paper: their LSTM, peephole)",
    source=f"{ARJOVSKY} (gradient figure)",
    says="at initialisation the LSTM's gradient falls below 1e−23 within about 550 steps (faster than the tanh RNN's)",
    settings="adding, T = 1000, H = 128; Glorot uniform per matrix, biases 0, forget bias 1; their LSTM has a "
    "peephole from c_t to the output gate",
    rule="at their model (peephole): agrees when every seed's ‖∂L/∂h_t‖ is below 1e−23 within 1.25 × 550 steps of "
    "the loss, disagrees when none is, inconclusive otherwise",
    checked_in=(REPORT, *PAPERS),
    readings=(Reading(550, "below 1e−23", None),),
)
FORGET_GATE = Claim(
    key="forget-gate-default",
    checked_by="config/config.yaml (the adding sweep's LSTM probes at initialisation)",
    source="PyTorch default init; Gers et al. 2000",
    says="with the default forget bias the LSTM cell path decays like ≈ 0.5 per step at initialisation",
    settings="PyTorch's default initialisation",
    rule="agrees when the fitted factor of ‖∂L/∂c_t‖ per step is within ±0.15 of 0.5",
    checked_in=(REPORT,),
)
PASCANU_BOUND = Claim(
    key="pascanu-bound",
    checked_by="config/config.yaml and the paper configs (gains)",
    source="Pascanu et al. 2013 §2.1",
    says="σ_max(W_hh) = η < 1/γ is sufficient for vanishing: ‖∂h_t/∂h_k‖ ≤ η^(t−k)",
    settings="any (a bound)",
    rule="agrees when every probe with η < 1 decays per step by at most η (5% fitting slack)",
    checked_in=(REPORT, *PAPERS),
)
PASCANU_NECESSARY = Claim(
    key="pascanu-necessary",
    checked_by="config/config.yaml and the paper configs (gains)",
    source="Pascanu et al. 2013 §2.1",
    says="η > 1 is necessary, not sufficient, for exploding gradients",
    settings="any (a condition)",
    rule="any count of probes with η > 1 that grow is consistent with it: shown, always agrees",
    checked_in=(REPORT, *PAPERS),
)
PASCANU_CLIPPING = Claim(
    key="pascanu-clipping",
    checked_by="config/config.yaml and the paper configs (clipping)",
    source="Pascanu et al. 2013 §3.2 (Algorithm 1)",
    says="norm clipping keeps an exploding SGD run finite",
    settings="any exploding SGD run; their code clips at 1",
    rule="agrees when some seed explodes without clipping and none with it",
    checked_in=(REPORT, *PAPERS),
)
ARJOVSKY_ADDING = Claim(
    key="arjovsky-adding",
    checked_by="config/config.yaml (the adding sweep, judged only at the paper's settings)",
    source=f"{ARJOVSKY} (adding)",
    says="the LSTM learns adding lengths where the tanh RNN stays at the baseline",
    settings="T = 100, 200, 400, 750; H = 128; RMSprop lr 1e-3; batch 20/50; Glorot init, LSTM forget bias 1",
    rule="judged only where a sweep has the paper's optimizer, init, width and one of its lengths: agrees when the "
    "LSTM solves or beats the baseline at more lengths than the tanh RNN",
    checked_in=(REPORT,),
    task="adding",
)
ARJOVSKY_COPY = Claim(
    key="arjovsky-copy",
    checked_by="config/config.yaml (the copy sweep, judged only at the paper's settings)",
    source=f"{ARJOVSKY} (copy)",
    says="the LSTM beats the copy baseline only at short delays; the tanh RNN never does",
    settings="T = 100–500; RNN H = 80, LSTM H = 40; RMSprop lr 1e-3; batch 20; Glorot init, LSTM forget bias 1",
    rule=ARJOVSKY_ADDING.rule,
    checked_in=(REPORT,),
    task="copy",
)
BAI_GRU = Claim(
    key="bai-gru-adding",
    checked_by="none at its sizes; config/config.yaml shows the adding sweep beside it",
    source="Bai et al. 2018, Table 1",
    says="the GRU solves long adding problems the LSTM does not (T = 600: GRU 5.3e-5, LSTM 0.164)",
    settings="T = 600; about 70k parameters per model; optimizer and lr tuned per model",
    rule="not comparable below T = 600 or at other sizes: shown, not judged",
    checked_in=(REPORT, *PAPERS),
    task="adding",
    length=600,
)
URNN_COPY = Claim(
    key="urnn-copy",
    checked_by="config/config.yaml (the copy contrast block, T = 100)",
    source=f"{ARJOVSKY} (uRNN, copy)",
    says="a unitary recurrence solves copy T = 100 (loss ≈ 0 within about 1,000 steps) where the LSTM stays at the "
    "baseline",
    settings="uRNN (complex, unitary W_hh), copy T = 100; RMSprop lr 1e-3; batch 20",
    rule="not comparable: our orthogonal RNN is expRNN's real cell, not the uRNN; shown beside the gated cells",
    checked_in=(REPORT,),
    task="copy",
    cell="orthogonal",
    length=100,
    readings=(Reading(1_000, "about 0", "convincing"),),
)
EXPRNN_COPY = Claim(
    key="exprnn-copy-1000",
    checked_by="a GPU study at L = 1000 (config/paper.yaml's comment); not run",
    source="Lezcano-Casado & Martínez-Rubio 2019 (expRNN)",
    says="the orthogonal RNN solves copy L = 1000 where the LSTM stays at the baseline 0.0204",
    settings="L = 1000, H = 190, batch 128, RMSprop lr 2e-4 (2e-5 for B), 4,000 iterations",
    rule="judged only at L = 1000 and the paper's budget (a GPU study's); elsewhere not run",
    checked_in=(REPORT,),
    task="copy",
    cell="orthogonal",
    length=1000,
)
IRNN_ADDING = Claim(
    key="le-irnn-adding",
    checked_by="none at their settings; the IRNN at Arjovsky's: config/paper-cpu.yaml (variant irnn)",
    source="Le, Jaitly & Hinton 2015 (IRNN)",
    says="a ReLU RNN with W_hh = I (the IRNN) learns the adding problem at T = 150–400",
    settings="adding T = 150, 200, 300, 400 (their variant, baseline 0.1767); SGD with gradient clipping; their "
    "training length and learning rate are not in this project's reference, so no budget is matched",
    rule="not judged: no reading of their curves at a stated budget; the IRNN's runs at Arjovsky's settings are in "
    "the paper-cpu report",
    checked_in=(REPORT,),
    task="adding",
    cell="irnn",
)

CLAIMS: tuple[Claim, ...] = (
    VANISHING,
    GRADIENT_FIGURE_RNN,
    GRADIENT_FIGURE_LSTM,
    FORGET_GATE,
    PASCANU_BOUND,
    PASCANU_NECESSARY,
    PASCANU_CLIPPING,
    ARJOVSKY_ADDING,
    ARJOVSKY_COPY,
    BAI_GRU,
    URNN_COPY,
    EXPRNN_COPY,
    IRNN_ADDING,
    HOCHREITER_ADDING,
    *TRAINED,
)
BY_KEY = {c.key: c for c in CLAIMS}
if len(BY_KEY) != len(CLAIMS):
    raise ValueError("two claims share a key")


def trained(task: str, length: int, cell: str) -> Claim | None:
    """Arjovsky et al.'s trained claim for ``cell`` (our cell, or ``irnn``) at ``task`` and ``length``."""
    return BY_KEY.get(f"arjovsky-{task}-{cell}-{length}")


def reading_at(claim: Claim, step: int) -> Reading | None:
    return next((r for r in claim.readings if r.step == step), None)
