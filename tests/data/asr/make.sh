#!/usr/bin/env bash
# Regenerates the ASR test fixtures: short synthetic sales-call utterances, 16 kHz mono FLAC.
# Needs espeak-ng and sox. The reference texts live in references.json (keep them in sync).
# Usage: tests/data/asr/make.sh   (from any directory)
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY' > /tmp/sparring_asr_lines.tsv
import json
for name, item in json.load(open("references.json")).items():
    print(f"{name}\t{item['voice']}\t{item['speed_wpm']}\t{item['text']}")
PY
while IFS=$'\t' read -r name voice speed text; do
  espeak-ng -v "$voice" -s "$speed" -w "/tmp/sparring_$name.wav" "$text"
  # 16 kHz mono 16-bit; trim leading/trailing silence to 0.2 s so utterances start promptly.
  sox "/tmp/sparring_$name.wav" -r 16000 -c 1 -b 16 "$name.flac" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.2 0.2
  rm -f "/tmp/sparring_$name.wav"
done < /tmp/sparring_asr_lines.tsv
rm -f /tmp/sparring_asr_lines.tsv
ls -l ./*.flac
