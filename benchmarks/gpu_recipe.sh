#!/usr/bin/env bash
# The one training recipe (docs/training.md) on a GPU, as measured for the README's GPU row:
# the DiT (`python -m minicog.train --preset tiny`) from random weights with the shipped VAE, then,
# with the time left, the VAE's decoder fine-tuning (the Makefile's $(VAE_MIX) step).
# Usage (repo root, a CUDA build of torch): bash benchmarks/gpu_recipe.sh OUTDIR [DIT_SECONDS] [VAE_SECONDS]
# Each step runs under `timeout`, so a hang (e.g. in the latent cache) shows as a log that stops.
set -u
out=${1:?usage: gpu_recipe.sh OUTDIR [DIT_SECONDS] [VAE_SECONDS]}; dit_s=${2:-3600}; vae_s=${3:-900}
mkdir -p "$out"; export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PY:-python3}; work=${WORK:-/tmp/minicog_gpu}; rm -rf "$work"; mkdir -p "$work"
nvidia-smi -L; $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
t0=$(date +%s)
# 1. the DiT, the preset as it is (bf16 autocast, spawned cache workers)
timeout "$dit_s" $py -m minicog.train --preset tiny --device "${DEVICE:-cuda}" --out "$work/run" --export "$work/export" \
    --set 'vae="assets/tiny/vae"' --no-progress 2>&1 | tee "$out/dit.log"
echo "dit exit ${PIPESTATUS[0]} after $(( $(date +%s) - t0 )) s"
cp "$work/run/log.jsonl" "$out/dit_log.jsonl" 2>/dev/null
[ -d "$work/export" ] && tar czf "$out/export.tgz" -C "$work/export" --exclude=vae .
# 2. the VAE's decoder on the mixture (the Makefile's step), from the one-object VAE in runs/vae_one_object
t1=$(date +%s)
if [ -f runs/vae_one_object/model.safetensors ]; then
  timeout "$vae_s" $py -m minicog.train_vae --init runs/vae_one_object --steps 0 --two-objects 0.5 \
      --device "${DEVICE:-cuda}" --out "$work/vae_mix" 2>&1 | tr '\r' '\n' | tee "$out/vae.log" | grep -v "%|" | tail -30
  echo "vae exit ${PIPESTATUS[0]} after $(( $(date +%s) - t1 )) s"
fi
