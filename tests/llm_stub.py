"""A small OpenAI-compatible chat and embeddings server for tests: scripted replies, recorded
requests, and misbehaviour on demand (slow replies, HTTP errors, garbage), served over real HTTP.

    with LLMStub() as stub:                      # or the ``llm_stub`` fixture
        stub.script("The US pledged $100M [1].", Reply(status=500))
        settings = make_settings(..., llm_base_url=stub.url)
        ...
        stub.requests[0]["messages"]             # what the client sent

Replies are used in order; once the script is used up, ``stub.default`` answers. A request
with ``"stream": true`` gets the reply as chat.completion.chunk events, a few words each.
Misbehaving servers: a body trickled byte by byte (``trickle``), a JSON body to a streamed
request (``stream=False``), a stream that never ends (``endless``), a huge reply. The times
at which clients hung up on a reply are kept in ``stub.hang_ups``.
"""

import json
import re
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

EMBED_DIM = 64  # the size of the stub's /v1/embeddings vectors


@dataclass
class Reply:
    """One scripted answer of the stub."""

    text: str = "NOT IN DOCUMENTS"
    status: int = 200  # another status answers with an OpenAI-style error body
    delay: float = 0.0  # seconds to wait first: longer than the client's timeout is a timeout
    garbage: bool = False  # a 200 whose body (or first stream event) is not JSON
    break_after: int | None = None  # streaming: a malformed event after this many pieces
    pace: float = 0.005  # streaming: seconds between pieces (a slow model trickles)
    trickle: float = 0.0  # seconds between the bytes of the body (headers come at once)
    stream: bool | None = None  # None: as the request asks; False: a JSON body whatever it asks
    endless: bool = False  # streaming: the text again and again, until the client hangs up


class LLMStub:
    """An OpenAI-compatible ``/v1/chat/completions`` server on a free port, in a thread."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[dict[str, Any]] = []
        self.hang_ups: list[float] = []  # time.monotonic() when a client closed mid-reply
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give an OpenAI client (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: str | Reply) -> None:
        """Queue replies, used one per request in order (a string is a plain text reply)."""
        with self._lock:
            self._script.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def start(self) -> "LLMStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def received(self, count: int, within: float = 10.0) -> int:
        """How many requests arrived, waiting up to ``within`` seconds for ``count`` of them:
        the handler's thread can read a request after the client has given up on it."""
        deadline = time.monotonic() + within
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.requests)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def __enter__(self) -> "LLMStub":
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _handler(stub: LLMStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            """Quiet: tests read ``stub.requests`` instead."""

        def do_POST(self) -> None:  # noqa: N802 - the base class's naming
            path = self.path.rstrip("/")
            if path not in ("/v1/chat/completions", "/v1/embeddings"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            stub.requests.append(body)
            if path == "/v1/embeddings":
                self._send(200, _embeddings(body))
                return
            reply = stub.next_reply()
            if reply.delay:
                stub.wait(reply.delay)
            try:
                if reply.status != 200:
                    self._send(reply.status, {"error": {"message": "scripted failure"}})
                elif body.get("stream") and reply.stream is not False:
                    self._stream(body, reply)
                elif reply.garbage:
                    self._send_raw(200, "application/json", b"<html>this is not json")
                else:
                    data = json.dumps(_completion(body, reply.text)).encode()
                    self._send_raw(200, "application/json", data, reply.trickle)
            except (BrokenPipeError, ConnectionResetError):
                stub.hang_ups.append(time.monotonic())

        def _stream(self, body: dict[str, Any], reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            pieces = re.findall(r"\S+\s*|\s+", reply.text)
            index = 0
            while index < len(pieces) or reply.endless:
                if reply.garbage or index == reply.break_after:
                    self.wfile.write(b"data: {this is not json\n\n")
                    return
                chunk = _chunk(body, {"content": pieces[index % len(pieces)]})
                self._write(f"data: {json.dumps(chunk)}\n\n".encode(), reply.trickle)
                stub.wait(reply.pace)
                index += 1
                if stub.stopping:
                    return
            done = _chunk(body, {}, finish_reason="stop")
            self._write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode(), reply.trickle)

        def _write(self, data: bytes, trickle: float = 0.0) -> None:
            """Send ``data`` at once, or one byte every ``trickle`` seconds."""
            for piece in [data[i : i + 1] for i in range(len(data))] if trickle else [data]:
                self.wfile.write(piece)
                self.wfile.flush()
                if trickle:
                    stub.wait(trickle)
                    if stub.stopping:
                        return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_raw(status, "application/json", json.dumps(payload).encode())

        def _send_raw(
            self, status: int, content_type: str, data: bytes, trickle: float = 0.0
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self._write(data, trickle)

    return Handler


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """Hashed bag-of-words vectors (texts sharing words are close), returned in reverse order
    as servers may: clients must sort by ``index``."""
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = []
    for index, text in enumerate(texts):
        vector = [0.0] * EMBED_DIM
        for word in re.findall(r"\w+", text.lower()):
            vector[zlib.crc32(word.encode()) % EMBED_DIM] += 1.0
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {"object": "list", "data": data[::-1], "model": body.get("model", "stub")}


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(
    body: dict[str, Any], delta: dict[str, str], finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
