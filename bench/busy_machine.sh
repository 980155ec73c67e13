#!/usr/bin/env bash
# How much slower squish gets beside a second squish computing on the same cores.
#
#   bench/busy_machine.sh SQUISH [VAR=VALUE ...]
#
# Runs, with the binary's own default thread policy (OMP_WAIT_POLICY, OMP_WAIT_POLICY_ALL and
# GOMP_SPINCOUNT are cleared; VAR=VALUE arguments set variables for every squish it starts, to try
# another policy):
#   - squish bench on BERT-base shapes (random weights, batch 1, seq 128, 10 runs): its median forward;
#   - squish eval of bert-tiny on SST-2 dev (872 examples): wall time, the median of 3;
# first on the idle machine, then beside a second squish bench on BERT-base shapes looping on the
# default number of threads, and prints both times and their ratio (2.0 is a fair share of a machine
# whose cores the two split). Builds nothing; takes a minute, at most a few. Reads models and data from
# $SQUISH_SHARED_DIR (default: shared/ beside the repository).
#
# It also measures the CPU that processes other than its own used meanwhile, and says when that was
# enough to spoil the numbers: on a shared machine, rerun until it does not.
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1" ]]; then
  echo "usage: $0 SQUISH [VAR=VALUE ...]   (SQUISH: the squish binary, e.g. build/squish)" >&2
  exit 2
fi
squish=$(realpath "$1")
shift
policy=("$@")
shared=${SQUISH_SHARED_DIR:-$(dirname "$(realpath "$0")")/../../shared}
config=$shared/models/bert-base-uncased-vocab/config.json
tiny=$shared/models/bert-tiny-sst2-scratch
for f in "$config" "$tiny/model.safetensors" "$shared/data"; do
  [[ -e $f ]] || { echo "$0: $f: missing (set SQUISH_SHARED_DIR)" >&2; exit 3; }
done
unset OMP_WAIT_POLICY OMP_WAIT_POLICY_ALL GOMP_SPINCOUNT

# Each command gets a deadline, so a pathological policy cannot make the script run for hours.
run() { timeout 300 env "${policy[@]}" "$squish" "$@"; }
bench_median_ms() {
  run bench --config "$config" --batch 1 --seq 128 --runs 10 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
eval_seconds() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    run eval --model_dir "$tiny" --task sst2 --data_dir "$shared/data" > /dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n 2p
}

# CPU seconds used by the whole machine, and by this script's finished children (`times` runs in
# this shell, not in a $(...) subshell, whose children would be only its own).
machine_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8)/hz}' /proc/stat
}
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
snapshot() {  # sets the named variable to "machine,children,wall"
  times > "$times_file"
  local children
  children=$(awk 'NR==2{s=0; for(i=1;i<=NF;i++){split($i,p,/[ms]/); s+=p[1]*60+p[2]} print s}' "$times_file")
  printf -v "$1" '%s,%s,%s' "$(machine_cpu_seconds)" "$children" "$(date +%s.%N)"
}
# Cores' worth of CPU that other processes used between two snapshots.
foreign_cores() {
  echo "$1 $2" | awk '{split($1,a,","); split($2,b,","); printf "%.2f", ((b[1]-a[1])-(b[2]-a[2]))/(b[3]-a[3])}'
}

echo "squish: $squish"
echo "policy: ${policy[*]:-default of the binary}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)"

snapshot s0
idle_bench=$(bench_median_ms)
idle_eval=$(eval_seconds)
snapshot s1

# Started directly (not through run(), whose subshell would not pass the kill on); timeout forwards
# the kill to squish, and ends it by itself if this script dies first.
timeout 600 env "${policy[@]}" "$squish" bench --config "$config" --batch 1 --seq 128 --warmup 0 --runs 100000000 \
  > /dev/null &
neighbour=$!
trap 'kill $neighbour 2>/dev/null || true; rm -f "$times_file"' EXIT
sleep 5  # past its random weights, into its forward passes
busy_bench=$(bench_median_ms)
busy_eval=$(eval_seconds)
kill $neighbour || true
wait $neighbour 2>/dev/null || true
snapshot s2

foreign_idle=$(foreign_cores "$s0" "$s1")
foreign_busy=$(foreign_cores "$s1" "$s2")
ratio() { echo "$1 $2" | awk '{printf "%.2fx", $2/$1}'; }
printf '%-44s %10s %10s %8s\n' "" idle busy ratio
printf '%-44s %8s ms %8s ms %8s\n' "bench BERT-base b1 s128, median forward" "$idle_bench" "$busy_bench" \
  "$(ratio "$idle_bench" "$busy_bench")"
printf '%-44s %9.3f s %9.3f s %8s\n' "eval bert-tiny SST-2 dev, wall (median of 3)" "$idle_eval" "$busy_eval" \
  "$(ratio "$idle_eval" "$busy_eval")"
echo "CPU used by other processes: $foreign_idle cores while idle, $foreign_busy cores while busy"
if awk -v a="$foreign_idle" -v b="$foreign_busy" 'BEGIN{exit !(a > 0.2 || b > 0.2)}'; then
  echo "WARNING: the machine was not idle apart from this script; rerun when it is"
fi
