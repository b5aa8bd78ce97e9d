#!/usr/bin/env bash
# One prepared check of the project on a machine with a CUDA torch (issue 19, item 8), in under 10
# minutes on one H100/H200. Everything it measured goes to one folder, with a summary:
#
#   bash scripts/gpu-check.sh [--out gpu-check] [--device cuda] [--tiny]
#
# Parts (each logged to OUT/<part>.log; OUT/summary.md has one line per part and the numbers):
#   env          nvidia-smi, torch, CUDA, cuDNN                                           seconds
#   cuda_tests   pytest -m cuda (the tests that run CUDA kernels)                         ~30 s
#   peer_ratios  benchmarks/peer_ratios.py --device cuda: one `rnnbench train` run
#                against a plain torch.nn loop, H = 128, B = 20, 1000 steps per variant   ~1 min
#   deepbench    rnnbench throughput --preset deepbench: no fraction_of_ceiling may be > 1 ~1 min
#   tf32         the TF32 policy: `rnnbench throughput --allow-tf32` (its math_mode column, a
#                same-mode ceiling: fractions <= 1) and `rnnbench train --allow-tf32`;
#                skipped, saying so, where this commit's CLI has no --allow-tf32           ~1 min
#   paper_gpu    config/paper-gpu.yaml's study (its whole pipeline) in OUT/study, then its
#                paper report (python -m rnnbench.study.papers --study paper-gpu) in
#                OUT/paper-gpu/REPORT.md; planned at about 6.5 min (the config says how)
# A part that fails is recorded and the next one runs; the exit status is 1 when any part failed.
#
# --device cpu --tiny runs every part on the CPU at tiny sizes (tests/test_gpu_check.py does, in the
# suite): the same commands, so that the script is known to work before a GPU is at hand.
#
# On a bare GPU machine (e.g. this workplace's nvidia-h200: python3 3.12 with torch, pytest, pandas,
# matplotlib, but no snakemake or jsonschema, and no network): carry the project and, as wheels, what
# the study needs. Here, in the repository root, once:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl snakemake==9.27.1 jsonschema       # with their dependencies; keep one version of each
# There, before this script (carry .whl):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
#   export PYTHONPATH=/tmp/site
# The script puts the repository first on PYTHONPATH itself (the project is not installed there) and
# runs `python3 -m rnnbench` and `python3 -m snakemake` (no console scripts needed). PYTHON=... picks
# another interpreter.
set -uo pipefail

OUT=gpu-check
DEVICE=cuda
TINY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --device) DEVICE="$2"; shift 2 ;;
        --tiny) TINY=1; shift ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) echo "gpu-check.sh: unknown argument $1 (--out DIR, --device cuda|cpu, --tiny)" >&2; exit 2 ;;
    esac
done
case "$DEVICE" in cuda|cpu) ;; *) echo "gpu-check.sh: --device must be cuda or cpu, got $DEVICE" >&2; exit 2 ;; esac

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SUMMARY="$OUT/summary.md"
FAILED=0
{
    echo "# gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo
    echo "device $DEVICE, tiny $TINY, commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo "| part | status | seconds | result |"
    echo "|---|---|---|---|"
} > "$SUMMARY"

# part NAME RESULT-COMMAND -- COMMAND...: runs COMMAND (output to OUT/NAME.log), then RESULT-COMMAND
# (its stdout is the summary's result column; it fails the part when it exits non-zero)
part() {
    local name="$1" result="$2" start rc status said
    shift 3
    echo "gpu-check: $name ..." >&2
    start=$(date +%s)
    "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    said="$($result 2>&1)"
    if [ $rc -ne 0 ]; then
        status="FAILED (exit $rc)"; said="${said:-see $name.log}"
    elif ! $result > /dev/null 2>&1; then
        status="FAILED (check)"
    else
        status="ok"
    fi
    [ "$status" = ok ] || FAILED=1
    echo "| $name | $status | $(( $(date +%s) - start )) | ${said//$'\n'/; } |" >> "$SUMMARY"
}

# --- sizes: the real ones, or tiny ones for the CPU --------------------------------------------------
if [ "$TINY" = 1 ]; then
    PEER_ARGS=(--steps 5 --stack 0 --cells rnn --hidden 8 --batch 4)
    DEEPBENCH_ARGS=(--cell gru --hidden 512 --length 1 --batch 32 --repeats 2 --warmup 1)
    TF32_ARGS=("${DEEPBENCH_ARGS[@]}")
else
    PEER_ARGS=(--steps 1000 --stack 0 --hidden 128 --batch 20)
    DEEPBENCH_ARGS=()
    TF32_ARGS=(--cell lstm --hidden 512 1024)  # 8 of the preset's LSTM shapes
fi

# The test files with tests marked cuda: collecting only these needs no package the GPU machine lacks
# (the rest of the suite imports snakemake's and selenium's modules)
mapfile -t TESTS < <(grep -l 'mark.cuda' "$REPO"/tests/test_*.py)

# --- env ---------------------------------------------------------------------------------------------
env_result() { grep -m1 '^torch' "$OUT/env.log"; }
env_part() {
    command -v nvidia-smi > /dev/null && nvidia-smi
    "$PY" -c "import torch, sys
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(),
      'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none', 'python', sys.version.split()[0])"
    nproc; cat /proc/loadavg
}
part env env_result -- env_part

# --- the CUDA tests ----------------------------------------------------------------------------------
tests_result() { tail -n 1 "$OUT/cuda_tests.log"; }
part cuda_tests tests_result -- "$PY" -m pytest -q -p no:cacheprovider -m cuda "${TESTS[@]}"

# --- one run against a plain loop --------------------------------------------------------------------
# "rnn 0.72x lstm 0.64x ...": each cell's whole run against the plain loop, in steps/s
peer_result() { grep -E '^[a-z]+ +H=[0-9]+ +B=[0-9]+ +rnnbench ' "$OUT/peer_ratios.log" | awk '{print $1, $2, $3, $7}' | paste -sd';' -; }
part peer_ratios peer_result -- "$PY" "$REPO/benchmarks/peer_ratios.py" --device "$DEVICE" "${PEER_ARGS[@]}"

# --- DeepBench's fractions of the ceiling ------------------------------------------------------------
# prints "N rows, max fraction F, K above 1" and fails when a row is above 1
fractions() {
    "$PY" - "$1" <<'EOF'
import sys

import pandas as pd

t = pd.read_csv(sys.argv[1])
ok = t[t["status"] == "ok"]
above = ok[ok["fraction_of_ceiling"] > 1]
mode = f", math_mode {'/'.join(sorted(set(map(str, t['math_mode']))))}" if "math_mode" in t else ""
print(f"{len(ok)} of {len(t)} rows ok, max fraction_of_ceiling {ok['fraction_of_ceiling'].max():.3f}, {len(above)} above 1{mode}")
sys.exit(1 if len(above) or ok.empty else 0)
EOF
}
deepbench_result() { fractions "$OUT/deepbench.csv"; }
part deepbench deepbench_result -- "$PY" -m rnnbench throughput --preset deepbench --device "$DEVICE" \
    "${DEEPBENCH_ARGS[@]}" --out "$OUT/deepbench.csv"

# --- the TF32 policy (the "tf32" change of issue 19: --allow-tf32 and a math_mode column) -------------
if "$PY" -m rnnbench throughput --help 2>/dev/null | grep -q -- --allow-tf32; then
    tf32_result() {
        fractions "$OUT/deepbench_tf32.csv" || return 1
        # TF32 exists on CUDA only: a CPU run that allows it still runs, and records, fp32
        "$PY" -c "import json, sys; r = json.load(open(sys.argv[1])); c, m = r['config'], r['env'].get('math_mode')
want = 'tf32' if sys.argv[2] == 'cuda' else 'fp32'
print('train --allow-tf32: recorded allow_tf32 =', c.get('allow_tf32'), ', math_mode =', m, '(expected', want + ')')
sys.exit(c.get('allow_tf32') is not True or m != want)" "$OUT/train_tf32.json" "$DEVICE"
    }
    tf32_part() {
        "$PY" -m rnnbench throughput --preset deepbench --device "$DEVICE" --allow-tf32 "${TF32_ARGS[@]}" \
            --out "$OUT/deepbench_tf32.csv" || return 1
        "$PY" -m rnnbench train --device "$DEVICE" --allow-tf32 --task adding --cell lstm --length 20 --hidden 16 \
            --steps 20 --seed 0 --clip none --out "$OUT/train_tf32.json"
    }
    part tf32 tf32_result -- tf32_part
else
    echo "| tf32 | skipped | 0 | this commit's rnnbench throughput has no --allow-tf32 (issue 19 item 2 not merged) |" >> "$SUMMARY"
fi

# --- the paper-gpu study and its report --------------------------------------------------------------
STUDY="$OUT/study"
study_part() {
    "$PY" -c "import snakemake, jsonschema" || { echo "snakemake or jsonschema missing: see this script's header"; return 1; }
    rm -rf "$STUDY" && mkdir -p "$STUDY" && cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/config" "$REPO/profiles" "$STUDY/"
    local config=config/paper-gpu.yaml targets=()
    if [ "$TINY" = 1 ] || [ "$DEVICE" != cuda ]; then
        # the same study on DEVICE, at tiny sizes when --tiny: the lengths that have claims, few steps
        config=config/paper-gpu-check.yaml
        "$PY" - "$STUDY/config/paper-gpu.yaml" "$STUDY/$config" "$DEVICE" "$TINY" <<'EOF' || return 1
import sys

import yaml

src, dst, device, tiny = sys.argv[1:]
c = yaml.safe_load(open(src))
c["device"] = device
if tiny == "1":
    c.update(runs_per_job=24, checkpoint_every=5)
    c["train"].update(steps=10, hidden=16, batch=4, eval_every=5, eval_batch=50, probe_batch=4)
    c["sweep"]["tasks"]["adding"]["lengths"] = [100, 200]
    c["sweep"]["tasks"]["copy"]["lengths"] = [100]
    c["sweep"]["tasks"]["copy"]["cell_train"] = {"rnn": {"hidden": 8}, "lstm": {"hidden": 4}, "gru": {"hidden": 5}}
    c["report"]["gradflow_length"] = 200
    for study in ("gains", "clipping"):
        c[study]["train"]["steps"] = 5
yaml.safe_dump(c, open(dst, "w"), sort_keys=False)
EOF
        # tiny: the tables the paper report reads, not the pipeline's own figures and report
        [ "$TINY" = 1 ] && targets=(results/tables/runs.csv results/tables/curves.csv results/tables/gradflow.csv
                                     results/tables/timings.csv results/tables/jobs.csv)
    fi
    local started start wall
    started="$(date -u '+%Y-%m-%d %H:%M UTC')"
    start=$(date +%s)
    (cd "$STUDY" && "$PY" -m snakemake "${targets[@]}" --cores all --configfile "$config") || return 1
    wall=$(( $(date +%s) - start ))
    echo "study wall seconds: $wall"
    "$PY" -m rnnbench.study.papers "$STUDY/results" --out "$OUT/paper-gpu" --study paper-gpu \
        --wall-seconds "$wall" --started "$started" --note "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
study_result() {
    grep -m1 'study wall seconds' "$OUT/paper_gpu.log" || return 1
    test -s "$OUT/paper-gpu/REPORT.md" && echo "report: paper-gpu/REPORT.md, $(grep -c '\*\*agrees\*\*' "$OUT/paper-gpu/REPORT.md") rows agree"
}
part paper_gpu study_result -- study_part

echo >> "$SUMMARY"
echo "exit status $FAILED (1: a part failed)" >> "$SUMMARY"
cat "$SUMMARY"
exit $FAILED
