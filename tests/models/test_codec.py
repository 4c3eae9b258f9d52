"""The codec: typed messages in and out, precise errors with their wire codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import codec
from models.errors import BadAudioFormat, BadMessage, UnknownType
from models.wire import Consent, Hello, Metrics, Nudge, Severity, TalkShare


def test_codec_decodes_hello_with_audio_format() -> None:
    msg = codec.decode_client(
        '{"type":"hello","token":"t","name":"Anna","audio":{"format":"pcm_s16le","rate":48000,"channels":2}}'
    )
    assert isinstance(msg, Hello) and msg.audio is not None
    assert msg.audio.rate == 48000 and msg.audio.channels == 2


def test_codec_ignores_unknown_fields_for_forward_compatibility() -> None:
    msg = codec.decode_client('{"type":"consent","granted":true,"future_field":1}')
    assert msg == Consent(granted=True)


@pytest.mark.parametrize(
    "data, error, text",
    [
        ("{nope", BadMessage, "malformed JSON"),
        ("[1,2]", BadMessage, "JSON object"),
        ('{"type":"dance"}', UnknownType, "'dance'"),
        ('{"no_type":1}', UnknownType, "None"),
        ('{"type":"consent"}', BadMessage, "granted"),
        ('{"type":"consent","granted":true,"scopes":["spying"]}', BadMessage, "spying"),
        ('{"type":"hello"}', BadMessage, "token"),
        ('{"type":"hello","token":"t","audio":{"rate":22050}}', BadAudioFormat, "22050"),
        ('{"type":"hello","token":"t","audio":{"format":"opus"}}', BadAudioFormat, "opus"),
    ],
)
def test_codec_rejects_bad_input_with_its_code(data: str, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        codec.decode_client(data)


def test_codec_round_trips_server_messages() -> None:
    for msg in (
        Nudge(
            id="n1",
            rule="talk_ratio",
            text="x",
            severity=Severity.WARN,
            at=1.5,
            evidence={"rep_share": 0.7},
        ),
        Metrics(
            at=2.0,
            talk=TalkShare(rep=0.6, customer=0.4),
            talk_window=TalkShare(rep=0.5, customer=0.5),
            longest_monologue_s=3.0,
            current_monologue_s=1.0,
            interruptions=0,
            overlaps=0,
            mean_response_gap_s=None,
            silence_s=0.0,
        ),
    ):
        assert codec.decode_server(codec.encode(msg)) == msg


@given(st.text(max_size=200))
def test_codec_never_crashes_on_arbitrary_text(data: str) -> None:
    try:
        codec.decode_client(data)
    except (BadMessage, UnknownType, BadAudioFormat):
        pass
