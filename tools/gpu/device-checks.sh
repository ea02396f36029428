#!/usr/bin/env bash
# The GPU checks of issue 3 in one run on a lent GPU machine: a CUDA build,
# CPU-vs-GPU agreement, throughput, and a long MIPS training on the GPU.
#   tools/gpu/device-checks.sh DEPS_PREFIX RUN_DIR OUT_DIR
# DEPS_PREFIX: made by make-deps-prefix.sh. RUN_DIR: mips.json (the training
# config) and optionally resume.pt (+ .json) to continue (checkpoint format 4:
# a format-3 file written by LibTorch 1.13 does not resume under 2.x; one
# `train --resume old.pt --steps 1` with this build rewrites it). BUDGET (seconds,
# default 500) bounds the whole run; the training takes what is left.
# Dry run without a GPU: CLI=path/to/entroscope-cli GPU=cpu skips the build.
set -uo pipefail
cd "$(dirname "$0")/../.."
deps=$1 run=$2 out=$3 budget=${BUDGET:-500} gpu=${GPU:-cuda}
t0=$(date +%s)
el() { echo $(($(date +%s) - t0)); }
res=$out/results.jsonl
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
echo "$(g++ --version | head -1); $(cmake --version | head -1); $(nproc) cores"

cli=${CLI:-}
if [ -z "$cli" ]; then
    tools/gpu/build-cuda.sh "$deps" /tmp/bcu >"$out/build.log" 2>&1 || {
        grep -E "error|Error" -m 40 "$out/build.log"; tail -n 20 "$out/build.log"; exit 1; }
    grep -E "^torch |torch-shim|TorchConfig" "$out/build.log"
    cli=/tmp/bcu/app/cli/entroscope-cli
fi
echo "built in $(el) s"

# 1. The same numbers on both devices: the shipped model on the default
#    system (same trajectory: seeds and thread count fixed), and three
#    training steps from the same initial weights.
for d in cpu $gpu; do
    $cli estimate --config resources/models/default_fast.config.json --model resources/models/default_fast.pt \
        --samples 3 --burn-in 2000 --sample-every 100 --threads 16 --device $d --json | sed "s/^/{\"check\":\"estimate_$d\",\"r\":/;s/\$/}/" >>"$res"
    $cli train --config "$run/mips.json" --steps 3 --threads 16 --device $d --out /tmp/x_$d.pt --json |
        sed "s/^/{\"check\":\"train_$d\",\"r\":/;s/\$/}/" >>"$res"
done
python3 - "$res" "$gpu" <<'PY'
import json, sys
r = {j["check"]: j["r"] for j in map(json.loads, open(sys.argv[1]))}
for key in ("epr_active", "epr_active_div", "epr_x", "epr_active_lin"):
    a, b = r["estimate_cpu"][key]["mean"], r["estimate_"+sys.argv[2]][key]["mean"]
    print(f"agreement {key}: cpu {a:.8g} cuda {b:.8g} rel {abs(a-b)/abs(a):.2e}")
a, b = r["train_cpu"]["final_loss"], r["train_"+sys.argv[2]]["final_loss"]
print(f"agreement 3-step training loss: cpu {a:.8g} cuda {b:.8g} rel {abs(a-b)/abs(a):.2e}")
PY
echo "checks done at $(el) s"

# 2. Throughput (particles/s) on the GPU; fp32 (LibTorch's default: no TF32).
echo '{"model":"aoup","eps":0.1,"network":{"arch":"fast","k_neighbors":16,"width":32,"layers":2,"heads":2}}' >/tmp/fast32.json
echo '{"model":"aoup","eps":0.1,"network":{"arch":"fast","k_neighbors":16,"width":64,"layers":3,"heads":4}}' >/tmp/fast64.json
echo '{"model":"aoup","eps":0.1,"network":{"arch":"paper","k_neighbors":64,"width":256,"layers":4,"heads":8}}' >/tmp/paper.json
bench() { timeout 60 $cli bench --device $gpu --threads 16 --warmup 20 --json "$@" | sed "s/^/{\"check\":\"bench\",\"r\":/;s/\$/}/" >>"$res"; }
for c in fast32 fast64 paper; do
    BENCH_SIZES=${BENCH_SIZES:-4096 32768}
    for n in $BENCH_SIZES; do
        bench --config /tmp/$c.json --n $n --what infer --steps 20
        bench --config /tmp/$c.json --n $n --what infer --divergence --steps 5
    done
    bench --config /tmp/$c.json --n ${BENCH_SIZES%% *} --what train --steps 20
done
echo "benchmarks done at $(el) s"
python3 - "$res" <<'PY'
import json, sys
for j in map(json.loads, open(sys.argv[1])):
    if j["check"] == "bench":
        b = j["r"]
        print(f'{b["what"]:5s} {b["arch"]:5s} w{b["width"]:<3d} L{b["layers"]} k{b["k_neighbors"]:<2d} {b["parameter_count"]:>8d} params  N {b["n"]:>5d}: {b["particles_per_s"]:>10.0f} particles/s')
PY

# 3. MIPS: continue the ISM training on the GPU for what is left of the budget.
left=$((budget - $(el) - 40))
resume=()
[ -f "$run/resume.pt" ] && resume=(--resume "$run/resume.pt")
echo "MIPS training for ${left} s (${resume[*]:-fresh})"
$cli train --config "$run/mips.json" --steps 40000 --burn-in 500000 --sample-every 500 --threads 16 --device $gpu \
    --max-seconds "$left" "${resume[@]}" --out "$out/mips_gpu.pt" --json 2>"$out/mips_train.log" |
    sed "s/^/{\"check\":\"mips_train\",\"r\":/;s/\$/}/" >>"$res"
grep -E "step|stopped" "$out/mips_train.log" | tail -n 8
tail -n 1 "$res"
echo "all done at $(el) s"
