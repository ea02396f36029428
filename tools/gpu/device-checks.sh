#!/usr/bin/env bash
# The GPU checks of issue 3 in one run on a lent GPU machine: a CUDA build,
# CPU-vs-GPU agreement, throughput, and a long MIPS training on the GPU.
#   tools/gpu/device-checks.sh DEPS_PREFIX RUN_DIR OUT_DIR
# DEPS_PREFIX: made by make-deps-prefix.sh. RUN_DIR: mips.json (the training
# config; MIPS_CONFIGS names others) and optionally NAME.resume.pt (+ .json)
# for config NAME.json to continue (checkpoint format 4:
# a format-3 file written by LibTorch 1.13 does not resume under 2.x; one
# `train --resume old.pt --steps 1` with this build rewrites it). BUDGET (seconds,
# default 500) bounds the whole run; the training takes what is left and the
# trained model is then evaluated on the GPU (EVAL_SAMPLES snapshots, default 20).
# CHECKS (default "agree bench resume tf32 train") picks the sections:
#   agree   the same numbers on CPU and GPU
#   bench   throughput, fp32
#   resume  a format-4 checkpoint written elsewhere ($RUN_DIR/f4.pt, e.g. by
#           LibTorch 1.13) resumes here on CPU and GPU
#   tf32    the paper and fast w64 networks with and without --tf32
#   trap    time to 2 % on the single-trap oracle (TestScoreOracles' system,
#           eps 0.1) on the GPU: 300 and 600 training steps, then the estimate
#   train   MIPS training on the GPU ($RUN_DIR/mips.json), then its estimate
# Dry run without a GPU: CLI=path/to/entroscope-cli GPU=cpu skips the build.
set -uo pipefail
cd "$(dirname "$0")/../.."
deps=$1 run=$2 out=$3 budget=${BUDGET:-500} gpu=${GPU:-cuda}
t0=$(date +%s)
el() { echo $(($(date +%s) - t0)); }
res=$out/results.jsonl
touch "$res"
checks=${CHECKS:-agree bench resume tf32 train}
want() { [[ " $checks " == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
echo "$(g++ --version | head -1); $(cmake --version | head -1); $(nproc) cores"

cli=${CLI:-}
if [ -z "$cli" ]; then
    tools/gpu/build-cuda.sh "$deps" /tmp/bcu >/tmp/build.log 2>&1 || {
        cp /tmp/build.log "$out/"; grep -E "error|Error" -m 40 /tmp/build.log; tail -n 20 /tmp/build.log; exit 1; }
    grep -E "^torch |torch-shim|TorchConfig" /tmp/build.log
    cli=/tmp/bcu/app/cli/entroscope-cli
fi
echo "built in $(el) s"

# 1. The same numbers on both devices: the shipped model on the default
#    system (same trajectory: seeds and thread count fixed), and three
#    training steps from the same initial weights.
want agree && for d in cpu $gpu; do
    $cli estimate --config resources/models/default_fast.config.json --model resources/models/default_fast.pt \
        --samples 3 --burn-in 2000 --sample-every 100 --threads 16 --device $d --json | sed "s/^/{\"check\":\"estimate_$d\",\"r\":/;s/\$/}/" >>"$res"
    $cli train --config "$run/mips.json" --steps 3 --threads 16 --device $d --out /tmp/x_$d.pt --json |
        sed "s/^/{\"check\":\"train_$d\",\"r\":/;s/\$/}/" >>"$res"
done
want agree && python3 - "$res" "$gpu" <<'PY'
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
want bench && for c in fast32 fast64 paper; do
    BENCH_SIZES=${BENCH_SIZES:-4096 32768}
    for n in $BENCH_SIZES; do
        bench --config /tmp/$c.json --n $n --what infer --steps 20
        bench --config /tmp/$c.json --n $n --what infer --divergence --steps 5
    done
    bench --config /tmp/$c.json --n ${BENCH_SIZES%% *} --what train --steps 20
done

# 3. A format-4 checkpoint from another LibTorch resumes here (CPU and GPU).
if want resume && [ -f "$run/f4.pt" ]; then
    for d in cpu $gpu; do
        $cli train --config "$run/f4.config.json" --resume "$run/f4.pt" --steps 3 --threads 16 --device $d --out /tmp/f4_$d.pt --json |
            sed "s/^/{\"check\":\"resume_$d\",\"r\":/;s/\$/}/" >>"$res"
        grep "resume_$d" "$res" | tail -n 1 | grep . || echo "resume on $d FAILED"
    done
fi

# 4. TensorFloat-32 against fp32.
if want tf32; then
    for c in paper fast64; do
        for t in "" --tf32; do
            bench --config /tmp/$c.json --n 4096 --what infer --steps 20 $t
            bench --config /tmp/$c.json --n 4096 --what train --steps 20 $t
        done
    done
fi
# 5. Time to 2 % on the single-trap oracle, training and estimating on the
#    GPU (the estimate's "exact" has the exact active EPR and total).
if want trap; then
    cat >/tmp/trap.json <<'JSON'
{"model":"aoup","n":512,"box":400,"interaction":"none","v0":1.0,"gamma":1.0,"eps":0.1,"trap_stiffness":[1.0],"dt":0.002,"seed":11,
 "network":{"arch":"fast","k_neighbors":4,"width":32,"layers":2,"heads":2},
 "training":{"loss":"ism","lr":3e-3,"batch":512,"ema":0.99,"warmup":100}}
JSON
    for s in 300 600; do
        $cli train --config /tmp/trap.json --steps $s --burn-in 2500 --sample-every 100 --threads 16 --device $gpu \
            --out /tmp/trap_$s.pt --json 2>/dev/null | sed "s/^/{\"check\":\"trap_train_$s\",\"r\":/;s/\$/}/" >>"$res"
        $cli estimate --config /tmp/trap.json --model /tmp/trap_$s.pt --samples 40 --burn-in 2500 --sample-every 1000 --threads 16 \
            --device $gpu --json 2>/dev/null | sed "s/^/{\"check\":\"trap_estimate_$s\",\"r\":/;s/\$/}/" >>"$res"
    done
    python3 - "$res" <<'PY'
import json, sys
r = {j["check"]: j["r"] for j in map(json.loads, open(sys.argv[1]))}
for s in (300, 600):
    t, e = r.get(f"trap_train_{s}"), r.get(f"trap_estimate_{s}")
    if not t or not e:
        print(f"trap {s}: FAILED"); continue
    print(f'trap {s} steps: train {t["seconds"]:.1f} s; active |v|^2 {e["epr_active"]["mean"]:.5g} div {e["epr_active_div"]["mean"]:.5g}'
          f' total {e["epr_total"]["mean"]:.5g}; exact {json.dumps(e["exact"])}')
PY
fi
echo "benchmarks done at $(el) s"
python3 - "$res" <<'PY'
import json, sys
for j in map(json.loads, open(sys.argv[1])):
    if j["check"] == "bench":
        b = j["r"]
        print(f'{b["what"]:5s} {b["arch"]:5s} w{b["width"]:<3d} L{b["layers"]} k{b["k_neighbors"]:<2d} {b["parameter_count"]:>8d} params  N {b["n"]:>5d}'
              f' {"tf32" if b.get("tf32") else "fp32"}: {b["particles_per_s"]:>10.0f} particles/s')
PY

# 6. MIPS: ISM training on the GPU for what is left of the budget, then the
#    estimate there. MIPS_CONFIGS (default mips.json): configs in RUN_DIR,
#    trained side by side (the GPU step is launch-bound: two runs share it),
#    with the 16 cores split between them.
want train || exit 0
samples=${EVAL_SAMPLES:-20}
configs=(${MIPS_CONFIGS:-mips.json})
threads=$((16 / ${#configs[@]}))
left=$((budget - $(el) - 40 - 3 * samples))
echo "MIPS training for ${left} s: ${configs[*]}"
for c in "${configs[@]}"; do
    name=${c%.json}
    resume=()
    [ -f "$run/$name.resume.pt" ] && resume=(--resume "$run/$name.resume.pt") && echo "$name resumes $name.resume.pt"
    $cli train --config "$run/$c" --steps 16000 --burn-in 500000 --sample-every 500 --threads $threads --device $gpu \
        --max-seconds "$left" "${resume[@]}" --out "$out/$name.pt" --json 2>"$out/$name.log" |
        sed "s/^/{\"check\":\"train_$name\",\"r\":/;s/\$/}/" >>"$res" &
done
wait
for c in "${configs[@]}"; do
    name=${c%.json}
    echo "== $name"; grep -E "step|stopped" "$out/$name.log" | awk 'NR % 8 == 0' | tail -n 12
    grep "train_$name" "$res"
    $cli estimate --config "$run/$c" --model "$out/$name.pt" --samples "$samples" --burn-in 500000 --sample-every 5000 \
        --threads $threads --device $gpu --json 2>/dev/null | sed "s/^/{\"check\":\"mips_estimate_$name\",\"r\":/;s/\$/}/" >>"$res" &
done
wait
python3 - "$res" <<'PY'
import json, sys
for j in map(json.loads, open(sys.argv[1])):
    if j["check"].startswith("mips_estimate_"):
        r = j["r"]
        f = lambda k: f'{r[k]["mean"]:.4g} +- {r[k]["se"] or 0:.2g}' if r.get(k) else "-"
        print(j["check"], ": |v|^2", f("epr_active"), " div", f("epr_active_div"), " gap", f("estimator_gap"),
              " exact", f("epr_active_identity"), " div_v", json.dumps(r["diagnostics"]["div_v"]))
PY
# At most 8 files come back from a lent machine: the logs and sidecars in one tar.
(cd "$out" && tar -cf mips_logs.tar ./*.log ./*.pt.json && rm -f ./*.log ./*.pt.json)
echo "all done at $(el) s"
