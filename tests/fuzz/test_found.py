"""Regressions of the bugs the live-protocol fuzzer found (one test each, at its edge)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from client.stream import create_session
from models import codec
from models.errors import UnknownType
from models.wire import ErrorMessage


@pytest.mark.parametrize("kind", ["{}", "[]", '["hello"]', "1", "null", "true"])
def test_codec_type_of_another_json_type_is_unknown_type(kind):
    # `{"type":{}}` raised TypeError (unhashable) in the codec: an `internal` error and a
    # traceback in the log instead of `unknown_type`.
    with pytest.raises(UnknownType):
        codec.decode_client(f'{{"type":{kind},"token":1}}')


async def test_ws_type_of_another_json_type_keeps_connection(open_ws, server, caplog):
    ws = await open_ws()
    await ws.send('{"type":{"a":1}}')
    error = codec.decode_server(await asyncio.wait_for(ws.recv(), 5))
    assert isinstance(error, ErrorMessage) and error.code == "unknown_type"
    await ws.send('{"type":[]}')
    error = codec.decode_server(await asyncio.wait_for(ws.recv(), 5))
    assert isinstance(error, ErrorMessage) and error.code == "unknown_type"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_ws_frame_over_1mib_right_after_hello_keeps_seq_continuous(open_ws, server):
    # The writer sealed a message (its `seq`) and sent it from a task of `wait_for`; a frame
    # over 1 MiB answered `too_big` in between, with the next `seq`, and the sealed message
    # was never sent: the client saw seq 1, 3.
    for _ in range(20):
        created = await create_session(server.ws_url, "seq")
        ws = await open_ws()
        audio = {"format": "pcm_s16le", "rate": 16000, "channels": 1}
        hello = {"type": "hello", "token": created.tokens.customer, "name": "C", "audio": audio}
        await ws.send(json.dumps(hello))
        await asyncio.sleep(0)  # the welcome on its way out when the big frame comes
        await ws.send(bytes(1 << 20))
        seqs, codes = [], []
        try:
            async for data in ws:
                message = json.loads(data)
                seqs.append(message["seq"])
                if message["type"] == "error":
                    codes.append(message["code"])
        except ConnectionClosed:
            pass
        assert seqs == list(range(1, len(seqs) + 1))
        assert codes == ["too_big"]


@pytest.mark.parametrize("name", ["Host", "Authorization", "Origin", "Upgrade"])
@pytest.mark.parametrize("path", ["/", "/v1/sessions/abc/report", "/v1/live", "/metrics"])
async def test_http_repeated_single_header_is_400(server, caplog, name, path):
    # `GET /` with two Host headers: websockets' `headers.get` raised MultipleValuesError,
    # answered 500 with a traceback in the log.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{name}: a\r\n{name}: b\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(request.encode())
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert raw.startswith(b"HTTP/1.1 400 "), raw[:100]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_http_repeated_accept_is_a_list(server, http_get):
    # Accept may repeat (a list header): the report reads all of its values.
    status, _, _ = await http_get("/v1/sessions/abc/report", {"Accept": "text/html"})
    assert status == 404
