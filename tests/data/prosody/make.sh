#!/usr/bin/env bash
# Regenerates the prosody test fixtures: one sales-call sentence spoken flat and lively
# (male and female espeak-ng voices), plus soft and loud copies; 16 kHz mono 16-bit FLAC.
# espeak-ng has no pitch-range flag (-p moves only the base pitch), so the range comes
# from SSML: <prosody range="x-low"> (flat) or "x-high" (lively), with -m.
# Levels: sox peak normalisation (gain -n) to the clip's peak_dbfs in clips.json.
# Needs espeak-ng and sox. Usage: tests/data/prosody/make.sh   (from any directory)
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY' > /tmp/sparring_prosody_clips.tsv
import json
spec = json.load(open("clips.json"))
for name, clip in spec.items():
    if not name.startswith("_") and isinstance(clip, dict):
        text = spec["_texts"][clip["text"]]
        print(f"{name}\t{clip['voice']}\t{clip['range']}\t{clip['peak_dbfs']}\t{spec['speed_wpm']}\t{text}")
PY
while IFS=$'\t' read -r name voice range peak speed text; do
  espeak-ng -m -v "$voice" -s "$speed" -w "/tmp/sparring_$name.wav" \
    "<speak><prosody range=\"$range\">$text</prosody></speak>"
  # 16 kHz mono 16-bit; trim silence to 0.2 s at both ends; peak-normalise.
  sox "/tmp/sparring_$name.wav" -r 16000 -c 1 -b 16 -C 8 "$name.flac" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.2 0.2 gain -n "$peak"
  rm -f "/tmp/sparring_$name.wav"
done < /tmp/sparring_prosody_clips.tsv
rm -f /tmp/sparring_prosody_clips.tsv
ls -l ./*.flac
