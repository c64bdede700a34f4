"""AWS faults in front of moto, for the worker's requests only (User-Agent "fleetkeeper"): the tests'
own boto3 calls always reach moto untouched.

Configured at run time over HTTP, so that a test can change them mid-run:

    POST /fleetkeeper-faults   {"throttle": 0.2, "server_error": 0.05, "delay_ms": 0,
                                "reset_after": {"RunInstances": 1}, "outage_seconds": 0,
                                "seed": 7}
    GET  /fleetkeeper-faults   the configuration and counts of what was injected, per action

- throttle: the probability that a request is answered with the service's throttling error
  without reaching moto: EC2's RequestLimitExceeded (HTTP 503), the query services' Throttling
  (HTTP 400), the JSON services' ThrottlingException (HTTP 400) — the codes of
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html and
  https://docs.aws.amazon.com/general/latest/gr/api-retries.html.
- server_error: the probability of an HTTP 500 InternalError (EC2) / InternalFailure (others).
- delay_ms: every request waits this long before it is served.
- reset_after: {action: n}: the next n requests of that action reach moto (their effect happens)
  and then lose their connection (a TCP reset) instead of the answer, as when a network path
  drops after the server acted.
- outage_seconds: from now on for that long, every request's connection is reset before moto
  sees it.
- hold_answer_ms: {action: ms}: moto serves the request at once, and its answer is held that long
  before it is written (counted as "answered" when moto has served it), as when a reply is slow
  on its way back: what the worker reads is as old as the moment moto answered.
A new POST replaces the whole configuration (and restarts the outage clock); counts accumulate.
"""

from __future__ import annotations

import io
import json
import random
import socket
import struct
import threading
import time
import uuid
from typing import Any, Callable
from urllib.parse import parse_qs

PATH = "/fleetkeeper-faults"
AGENT = "fleetkeeper"


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config: dict[str, Any] = {}
        self.rng = random.Random(0)
        self.outage_until = 0.0
        self.reset_left: dict[str, int] = {}
        self.counts: dict[str, dict[str, int]] = {}

    def configure(self, config: dict[str, Any]) -> None:
        with self.lock:
            self.config = dict(config)
            self.rng = random.Random(config.get("seed", 0))
            self.outage_until = time.monotonic() + float(config.get("outage_seconds", 0))
            self.reset_left = {k: int(v) for k, v in config.get("reset_after", {}).items()}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"config": self.config, "counts": self.counts,
                    "outage_left_s": max(0.0, self.outage_until - time.monotonic())}

    def count(self, action: str, what: str) -> None:
        per = self.counts.setdefault(action, {})
        per[what] = per.get(what, 0) + 1

    def decide(self, action: str) -> str:
        """What happens to one worker request: pass, throttle, error, reset (before moto) or
        reset-after (after moto)."""
        with self.lock:
            self.count(action, "requests")
            if time.monotonic() < self.outage_until:
                decision = "reset"
            elif self.reset_left.get(action, 0) > 0:
                self.reset_left[action] -= 1
                decision = "reset-after"
            else:
                roll = self.rng.random()
                throttle = float(self.config.get("throttle", 0))
                if roll < throttle:
                    decision = "throttle"
                elif roll < throttle + float(self.config.get("server_error", 0)):
                    decision = "error"
                else:
                    decision = "pass"
            if decision != "pass":
                self.count(action, decision)
            return decision


def _service(environ: dict[str, Any]) -> str:
    # The credential scope of SigV4's Authorization header: Credential=AKID/date/region/service/...
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
    except IndexError:
        return ""


def _action(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    form = parse_qs(body.decode("utf-8", "replace"))
    return form.get("Action", ["?"])[0]


def _error(environ: dict[str, Any], service: str, kind: str) -> tuple[str, list, bytes]:
    request_id = str(uuid.uuid4())
    if environ.get("HTTP_X_AMZ_TARGET"):
        code = "ThrottlingException" if kind == "throttle" else "InternalFailure"
        status = "400 Bad Request" if kind == "throttle" else "500 Internal Server Error"
        body = json.dumps({"__type": code, "message": "injected by the test: " + kind}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-RequestId", request_id)], body
    if service == "ec2":
        code = "RequestLimitExceeded" if kind == "throttle" else "InternalError"
        status = "503 Service Unavailable" if kind == "throttle" else "500 Internal Server Error"
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}"
                f"</Code><Message>injected by the test: {kind}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
        return status, [("Content-Type", "text/xml")], body
    code = "Throttling" if kind == "throttle" else "InternalFailure"
    status = "400 Bad Request" if kind == "throttle" else "500 Internal Server Error"
    body = (f"<ErrorResponse><Error><Type>{'Sender' if kind == 'throttle' else 'Receiver'}</Type>"
            f"<Code>{code}</Code><Message>injected by the test: {kind}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml")], body


def _reset(environ: dict[str, Any]) -> None:
    """Closes the client's connection with a TCP reset (SO_LINGER 0), answering nothing."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Dropped(ConnectionResetError):
    """Raised after a reset: the server takes it for a dropped connection and writes nothing."""


def wrap(app: Callable, faults: Faults | None = None) -> Callable:
    faults = faults or Faults()

    def faulty(environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") == PATH:
            if environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                faults.configure(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            body = json.dumps(faults.snapshot()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if not environ.get("HTTP_USER_AGENT", "").startswith(AGENT):
            return app(environ, start_response)
        # The body is read here, to learn the action, and handed on to moto as it came.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = _action(environ, body)
        delay = float(faults.config.get("delay_ms", 0)) / 1000
        if delay > 0:
            time.sleep(delay)
        decision = faults.decide(action)
        if decision == "reset":
            _reset(environ)
            raise _Dropped(action)
        if decision in ("throttle", "error"):
            status, headers, payload = _error(environ, _service(environ), decision)
            start_response(status, headers + [("Content-Length", str(len(payload)))])
            return [payload]
        hold = float(faults.config.get("hold_answer_ms", {}).get(action, 0)) / 1000
        if hold > 0:
            answer = list(app(environ, start_response))
            with faults.lock:
                faults.count(action, "answered")
            time.sleep(hold)
            return answer
        answer = app(environ, start_response)
        if decision == "reset-after":
            list(answer)  # moto has acted; the answer is lost
            _reset(environ)
            raise _Dropped(action)
        return answer

    return faulty
