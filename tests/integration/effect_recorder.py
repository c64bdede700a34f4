"""A loopback HTTP server standing in for the outside world of the test-only `test_effect` workflow
handler (tests/testing/effect_handler.h): it records every POST with its `Idempotency-Key`
header, its body (the workflow id) and when it arrived, and answers 200. While `fail` is set it
answers 503 and counts the POST in `refused` instead: a refused effect was not applied. Binds
127.0.0.1 port 0; the tests hand its URL to the worker as FK_TEST_EFFECT_URL."""

import collections
import http.server
import threading
import time


class EffectRecorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []          # (monotonic time, workflow id, idempotency key)
        self.fail = False
        self.refused = 0
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace")
                key = self.headers.get("Idempotency-Key", "")
                with recorder.lock:
                    if recorder.fail:
                        recorder.refused += 1
                        status = 503
                    else:
                        recorder.requests.append((time.monotonic(), body, key))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/effect"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def keys_by_workflow(self):
        """workflow id -> distinct idempotency keys seen for it."""
        out = collections.defaultdict(set)
        for _, wf, key in self.snapshot():
            out[wf].add(key)
        return out

    def count(self):
        with self.lock:
            return len(self.requests)
