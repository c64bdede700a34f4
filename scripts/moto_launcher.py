#!/usr/bin/env python3
"""Runs moto's server with the actions fleetkeeper needs and moto lacks (scripts/motofill).

    moto_launcher.py [--host 127.0.0.1] [--port 0] [--port-file FILE]

Port 0 picks a free port; the chosen one is printed ("listening on http://HOST:PORT") and written
to --port-file. Environment: FK_MOTO_TIME_SCALE (multiplier for warmups, checkpoint delays and bake
times, default 1), FK_MOTO_STATE_DELAY (seconds in transitional states, default 0), and moto's own
(MOTO_ENABLE_RECORDING, MOTO_RECORDER_FILEPATH, INITIAL_NO_AUTH_ACTION_COUNT). Stops on SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    import motofill
    from motofill.core import MODEL_LOCK

    motofill.install()
    dispatcher = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        # One request at a time against the models, shared with the background emulation.
        with MODEL_LOCK:
            return list(dispatcher(environ, start_response))

    server = make_server(args.host, args.port, app, threaded=True,
                         request_handler=MotoRequestHandler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening on http://{args.host}:{port}", flush=True)

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
