#!/usr/bin/env python3
"""Runs moto's server with the actions fleetkeeper needs and moto lacks (scripts/motofill).

    moto_launcher.py [--host 127.0.0.1] [--port 0] [--port-file FILE]
    moto_launcher.py --setup-auth ENDPOINT

--setup-auth, against a running server whose authentication is still off, creates the IAM user
fleetkeeper-test with a policy allowing the services fleetkeeper uses and an access key, switches
authentication on (POST /moto-api/reset-auth with the body 0), checks that the key works and a
wrong secret fails, and prints AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines.

Port 0 picks a free port; the chosen one is printed ("listening on http://HOST:PORT") and written
to --port-file. Environment: FK_MOTO_TIME_SCALE (multiplier for warmups, checkpoint delays and bake
times, default 1), FK_MOTO_STATE_DELAY (seconds in transitional states, default 0), and moto's own
(MOTO_ENABLE_RECORDING, MOTO_RECORDER_FILEPATH, INITIAL_NO_AUTH_ACTION_COUNT). Stops on SIGTERM or
SIGINT. AWS faults for the worker's requests (throttling, 5xx, resets, an outage, delays) are set
at run time with POST /fleetkeeper-faults (motofill/faults.py); none by default.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


TEST_USER = "fleetkeeper-test"
# IAM action prefixes of the services the clients call. moto takes the prefix from the signing
# name of the request's credential scope, which is also the real IAM prefix: CloudWatch signs as
# "monitoring" and ELBv2 as "elasticloadbalancing".
TEST_ACTION_PREFIXES = ("ec2", "autoscaling", "ssm", "elasticloadbalancing", "monitoring", "sns",
                        "ecs", "sts", "iam", "codedeploy")


def setup_auth(endpoint: str) -> int:
    import json
    import urllib.request

    import boto3
    from botocore.exceptions import ClientError

    def client(service: str, key: str, secret: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret)

    iam = client("iam", "bootstrap", "bootstrap")
    iam.create_user(UserName=TEST_USER)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"{p}:*" for p in TEST_ACTION_PREFIXES], "Resource": "*"}]}
    iam.put_user_policy(UserName=TEST_USER, PolicyName="fleetkeeper-test",
                        PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=TEST_USER)["AccessKey"]
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=10).read()

    client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    try:
        client("sts", key["AccessKeyId"], "wrong-secret").get_caller_identity()
        print("authentication did not switch on", file=sys.stderr)
        return 1
    except ClientError as error:
        if error.response["Error"]["Code"] != "SignatureDoesNotMatch":
            raise
    print(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}")
    print(f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}")
    return 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--setup-auth":
        return setup_auth(sys.argv[2])
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
    from motofill import faults
    from motofill.core import MODEL_LOCK

    motofill.install()
    dispatcher = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        # One request at a time against the models, shared with the background emulation.
        with MODEL_LOCK:
            return list(dispatcher(environ, start_response))

    server = make_server(args.host, args.port, faults.wrap(app), threaded=True,
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
