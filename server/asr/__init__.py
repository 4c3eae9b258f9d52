"""Speech recognition: faster-whisper models, the worker pool, devices and languages."""

import os

# CTranslate2 runs Whisper's encoder convolutions with oneDNN, which keeps one compiled
# primitive per input shape: 1,024 of them by default, over a megabyte each. The encoder
# is fed only the audio there is (engine.EXACT_MIN_FRAMES to FULL_WINDOW_FRAMES, 1,250
# shapes), so a busy server grew by a megabyte for every new utterance length, to 1.2 GB
# (bench/README.md, soak.py). Sixteen keep the common shapes (every utterance under 4 s
# has the same one) and made encoding no slower. Set before CTranslate2 loads; an
# operator's own setting wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
