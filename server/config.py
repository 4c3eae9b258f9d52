"""Server configuration: one frozen value built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8765
    playbook: str | None = None  # path to a TOML playbook; None: the shipped default
    model: str = "tiny.en"  # tiny.en | base | PATH | none
    # Loaded the first time a call needs a language `model` lacks (Dutch, detection), when
    # its packages are installed (the `nl` extra); "none": no second model.
    multilingual_model: str = "base"
    language: str = "en"  # default session language when `create` names none
    trainer_key: str | None = None  # None: the app generates one (App.trainer_key)
    node: str = ""  # this node's name; ids and tokens start with "node." when set
    mqtt: str | None = None  # mqtt://host:port of the broker that joins the nodes
    # Where ended calls are kept: a postgresql:// URL, or an SQLite data directory; neither:
    # kept in memory only (embedded servers, most tests). The CLI defaults to a directory.
    db: str | None = None
    data_dir: str | None = None
    retention_days: int = 90
    public_url: str | None = None  # base URL for join links, when behind a proxy
    max_sessions: int = 1000
    asr_workers: int | None = None  # None: the device's default (app.ASR_WORKERS)
    # A party behind: its waiting finals are recognised as one decode, up to this much audio
    # (0: one decode per final); finals greedy while partials are off for load.
    asr_merge_s: float = 24.0
    asr_greedy_behind: bool = True
    # A run of speech over 3 s is cut for recognition at a pause this long (0: only where
    # the VAD's hangover ends speech), so that each sentence's final comes after its end.
    asr_pause_cut_s: float = 0.24
    # Two malloc arenas and a `malloc_trim` every 30 s keep RSS flat (server/allocator.py).
    trim_memory: bool = True
    # numpy's BLAS threads (None: its own default, one per core, which spin between
    # products): recognition runs in worker threads of its own (server/blas.py).
    blas_threads: int | None = 1
    # Where Whisper runs: auto (CUDA when CTranslate2 sees a device, else cpu) | cpu | cuda;
    # compute type auto: int8 on cpu, float16 on cuda (server/asr/device.py).
    device: str = "auto"
    compute_type: str = "auto"
    # Prime final decodes so Whisper writes "um", "uh" (bench/bench_fillers.py); None: on for
    # multilingual models, off for English-only ones, where it costs accuracy.
    filler_prompt: bool | None = None
    # --- limits (docs/protocol.md, Limits; README, Configuration) ---
    creates_per_min: int = 30  # per client address, once its burst is spent
    create_burst: int = 30  # creates one address may make at once (a class starting together)
    max_observers: int = 20  # per call; the participant list goes to everyone on each change
    audio_rate_x: float = 50.0  # audio per connection, in multiples of real time (replays: 20x)
    audio_burst_s: float = 180.0  # audio seconds taken at once (a bundled call, unpaced)
    consents_per_min: int = 20  # consent messages per connection
    whispers_per_min: int = 30  # whispers per connection (observers, trainers)
    max_connections_per_address: int = 200  # open live connections of one client address
    hello_timeout_s: float = 10.0  # a connection must send its first request within this
    never_joined_s: float = 900.0  # an unused link's session ends this long after creation
    everyone_left_s: float = 300.0  # a session everyone left ends after this
    call_idle_s: float = 1800.0  # a call nobody sent anything to ends after this
    max_call_s: float = 4 * 3600.0  # the longest a call lasts
    rejoin_grace_s: float = 60.0  # a dropped rep or customer may come back this long (0: off)
    shutdown_s: float = 10.0  # SIGTERM: running calls end and clients are told within this
    # --- access ---
    allow_origins: tuple[str, ...] = ()  # browser origins allowed besides the server's own
    create_needs_key: bool = False  # `create` needs the trainer key or a rep token
    metrics_key: str | None = None  # GET /metrics needs `Authorization: Bearer KEY`
    metrics_listen: str | None = None  # HOST:PORT: /metrics there only, not on the main port
    certfile: str | None = None  # TLS: https and wss with this certificate chain (PEM)
    keyfile: str | None = None  # its private key (PEM); None: in certfile
