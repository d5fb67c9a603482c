"""A loopback stand-in for the OpenAI chat completions API, answering with the scripted
replies of tests/scripted.py, so that the real ``langchain-openai`` client (``openai:...``
specs, ``create_agent("openai:...")``) runs end to end here with OPENAI_BASE_URL pointed at it.

Structured requests (``response_format`` json_schema) get a deterministic reply for their
schema: the synthesis GENERATOR's (``synthesis_reply``), the protocol EXECUTIVE's, the reader's
and the judge's. A request with tools calls the first tool with the user's question, then
answers with what the tool returned. A streamed request gets the same reply as events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from tests.scripted import synthesis_reply

_EXECUTIVE_REPLIES: dict[str, dict[str, Any]] = {
    "GroundingPlan": {"sub_questions": ["Who founded the Kelvary Survey Society?"]},
    "IdentificationStep": {
        "known_facts": ["The society was founded in 1902."],
        "candidates": ["Orvane Tessaly"],
        "decision": "confirm",
        "target": "Orvane Tessaly",
        "question": "",
    },
    "SeekingStep": {"decision": "answer", "entity": "Orvane Tessaly", "question": ""},
    "FinalAnswer": {"answer": "Orvane Tessaly", "justification": "the MEMORY named him"},
    "ShortAnswer": {"answer": "Orvane Tessaly"},
    "Verdict": {"correct": False, "reason": "scripted judge"},
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [])


def reply(request: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for one chat completions request."""
    messages = request["messages"]
    tools = request.get("tools")
    if tools:
        results = [_text(m["content"]) for m in messages if m["role"] == "tool"]
        if results:
            return {"role": "assistant", "content": f"From memory: {results[-1]}"}
        question = next(_text(m["content"]) for m in reversed(messages) if m["role"] == "user")
        call = {
            "id": "call-1",
            "type": "function",
            "function": {
                "name": tools[0]["function"]["name"],
                "arguments": json.dumps({"questions": [question]}),
            },
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    response_format = request.get("response_format") or {}
    if response_format.get("type") != "json_schema":
        return {"role": "assistant", "content": "Orvane Tessaly"}
    schema = response_format["json_schema"]["schema"]
    title = schema.get("title") or response_format["json_schema"].get("name", "")
    if title in _EXECUTIVE_REPLIES:
        return {"role": "assistant", "content": json.dumps(_EXECUTIVE_REPLIES[title])}
    # synthesis_reply reads the schema's title from the prompt, as a schema-in-prompt model would
    lc_messages: list[BaseMessage] = [
        SystemMessage(f"Reply with JSON matching this JSON schema: {json.dumps(schema)}")
    ]
    for message in messages:
        kind = SystemMessage if message["role"] == "system" else HumanMessage
        lc_messages.append(kind(_text(message["content"])))
    return {"role": "assistant", "content": json.dumps(synthesis_reply(lc_messages))}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        message = reply(request)
        if request.get("stream"):
            self._stream(request, message)
            return
        body = json.dumps(
            {
                "id": "chatcmpl-stand-in",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "stand-in"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, request: dict[str, Any], message: dict[str, Any]) -> None:
        """The reply as server-sent events: the message in one delta, then its finish."""
        delta = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [
                {**call, "index": n} for n, call in enumerate(message["tool_calls"])
            ]
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for choice in (
            {"delta": delta, "finish_reason": None},
            {"delta": {}, "finish_reason": finish},
        ):
            chunk = {
                "id": "chatcmpl-stand-in",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": request.get("model", "stand-in"),
                "choices": [{"index": 0, **choice}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@contextmanager
def openai_stand_in() -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL (``.../v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
