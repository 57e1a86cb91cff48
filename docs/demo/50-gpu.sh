# GPU: status and monitor (when a driver is present), and process-impact analysis (always).
step "nexus gpu status: every GPU and MIG device, read in-process through NVML"
if nexus gpu status; then
  show nexus gpu processes
  show nexus gpu monitor --once
else
  echo "(no NVIDIA driver here: the GPU views say so in one line; impact analysis still works)"
fi

step "nexus gpu impact PID: what would be lost if this training run were killed now?"
gpu_demo_dir="$(pwd)/gpu-demo"
python3 "$here/../tests/gpu/trainer.py" --dir "$gpu_demo_dir/checkpoints" --workers 2 \
  --interval 0.5 --epochs 10 &
gpu_demo_pid=$!
for _ in $(seq 60); do
  [ "$(ls "$gpu_demo_dir/checkpoints" 2>/dev/null | grep -c '^ckpt_')" -ge 4 ] && break
  sleep 0.1
done
echo "(a stand-in trainer, PID $gpu_demo_pid: 2 worker children, a checkpoint every 0.5 s)"
show nexus gpu impact "$gpu_demo_pid" || true

step "The same as JSON, for scripts (work lost, newest checkpoint, cadence)"
printf '$ nexus gpu impact %s --json   # four of its fields:\n' "$gpu_demo_pid"
nexus gpu impact "$gpu_demo_pid" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
keys = ("work_lost", "newest_checkpoint", "cadence_s", "graceful_signal")
print(json.dumps({k: r.get(k) for k in keys}, indent=2))' || true

step "nexus gpu impact PID --action graceful --yes: SIGUSR1, since the trainer handles it"
show nexus gpu impact "$gpu_demo_pid" --action graceful --yes --json >/dev/null || true
wait "$gpu_demo_pid" 2>/dev/null || true
ls "$gpu_demo_dir/checkpoints" | grep '^signal_' || true
kill "$gpu_demo_pid" 2>/dev/null || true
