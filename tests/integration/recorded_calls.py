"""The worker's AWS calls as moto's recorder has them, parsed for the patch suites: which call
named which instance, in order."""

import base64
import json
import urllib.parse

from harness import _header, aws_action


def worker_calls(moto):
    """The worker's recorded calls in order: (operation, parsed parameters), e.g.
    ("SendCommand", {"InstanceIds": [...]}) or ("DeregisterTargets", {"Targets.member.1.Id": ...})."""
    out = []
    for e in moto.recorded():
        if not _header(e, "User-Agent").startswith("fleetkeeper"):
            continue
        action = aws_action(e)
        if not action:
            continue
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        try:
            params = json.loads(body) if body.startswith("{") else \
                {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
        except ValueError:
            params = {}
        out.append((action.split(":", 1)[1], params))
    return out


def call_instances(action, params):
    """The instance ids a call of a patch campaign names (worker_calls' parameters)."""
    if action == "SendCommand":
        return params.get("InstanceIds", [])
    if action in ("CreateImage", "CreateReplaceRootVolumeTask"):
        return [params.get("InstanceId")]
    if action in ("DeregisterTargets", "RegisterTargets"):
        return [v for k, v in params.items() if k.startswith("Targets.member.") and k.endswith(".Id")]
    if action == "StartInstances":
        return [v for k, v in params.items() if k.startswith("InstanceId.")]
    return []


def patch_mutations(calls, instances, mutating):
    """(operation, instance) of each call among `calls` (worker_calls) whose operation is in
    `mutating` and that names one of `instances`, in order."""
    wanted = set(instances)
    return [(a, i) for a, p in calls if a in mutating for i in call_instances(a, p) if i in wanted]
