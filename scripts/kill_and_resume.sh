#!/usr/bin/env bash
# Fault injection by hand (issue 5): SIGKILL the smoke pipeline (Snakemake's whole process group, and
# the job it runs) N times at random moments, then let the same command finish, and compare every
# table but the timed ones with an uninterrupted run's. Prints what each kill left behind.
#
#   bash scripts/kill_and_resume.sh [N=8] [EARLIEST=12.5] [LATEST=17.5]
#
# The kill window (seconds after start) should cover the training phase; on this project's 2-core CPU
# the smoke study in 4-run jobs trains from about 12 s to 19 s. Work happens in a temporary directory.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
N=${1:-8}; EARLIEST=${2:-12.5}; LATEST=${3:-17.5}
WORK=$(mktemp -d)
for d in ref kill; do
  mkdir -p "$WORK/$d" && cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/config" "$REPO/profiles" "$WORK/$d/"
done
cmd="$PY -m snakemake --cores 2 --configfile config/smoke.yaml --config runs_per_job=4"
(cd "$WORK/ref" && $cmd > run.log 2>&1) || { echo "the uninterrupted run failed: $WORK/ref/run.log"; exit 1; }
cd "$WORK/kill"
landed=0
for i in $(seq 1 "$N"); do
  setsid $cmd > "run$i.log" 2>&1 &
  pid=$!
  t=$(python3 -c "import random; print(round(random.uniform($EARLIEST, $LATEST), 1))")
  sleep "$t"
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" && landed=$((landed + 1)); fi
  wait "$pid" 2>/dev/null
  runs=$(find results/runs -name '*.json' 2>/dev/null | wc -l)
  parts=$(find results -name '*.part' 2>/dev/null | wc -l)
  whole=$($PY -c "import glob, json; [json.load(open(p)) for p in glob.glob('results/runs/**/*.json', recursive=True)]; print('all whole')" 2>&1 | tail -1)
  echo "kill $i after ${t}s: $runs run JSONs ($whole), $parts temp files, $(ls results/tables 2>/dev/null | wc -l) tables"
done
$cmd > final.log 2>&1
echo "resumed: exit $?; SIGKILLs that landed: $landed of $N"
status=0
for f in "$WORK"/ref/results/tables/*.csv; do
  name=$(basename "$f")
  case $name in timings.csv | throughput.csv | jobs.csv) continue ;; esac  # timings differ by nature
  if cmp -s "$f" "results/tables/$name"; then echo "$name: identical"; else echo "$name: DIFFERS"; status=1; fi
done
echo "runs: uninterrupted $(find "$WORK/ref/results/runs" -name '*.json' | wc -l), killed and resumed $(find results/runs -name '*.json' | wc -l)"
rm -rf "$WORK"
exit $status
