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
    asr_workers: int | None = None
    # Prime final decodes so Whisper writes "um", "uh" (bench/bench_fillers.py); None: on for
    # multilingual models, off for English-only ones, where it costs accuracy.
    filler_prompt: bool | None = None
