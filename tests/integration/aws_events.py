"""The AWS event forms the end-to-end suites send, built once (each test module used to carry its
own copy). Every builder follows a published example:

- "Parameter Store Change": the EventBridge example of
  https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
- "CloudWatch Alarm State Change": the EventBridge example of
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
  (a single-metric alarm: `configuration.metrics[].metricStat`)

Defaults are moto's account and the region the suites run in."""

import time
import uuid

MOTO_ACCOUNT = "123456789012"
REGION = "us-east-1"


def _envelope(detail_type, source, resources, detail, account, region):
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
        "account": account, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region, "resources": resources, "detail": detail,
    }


def parameter_store_change(name, account=MOTO_ACCOUNT, region=REGION, operation="Update"):
    return _envelope("Parameter Store Change", "aws.ssm",
                     [f"arn:aws:ssm:{region}:{account}:parameter{name}"],
                     {"operation": operation, "name": name, "type": "String", "description": ""},
                     account, region)


def state_time_at(epoch_s):
    """A StateChangeTime as CloudWatch writes it, to the millisecond."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + \
        f".{int(epoch_s * 1000) % 1000:03d}+0000"


def alarm_state_change(name, dimensions, state="ALARM", state_time=None, account=MOTO_ACCOUNT,
                       metric="CPUUtilization", namespace="AWS/EC2", stat="Average",
                       region=REGION):
    state_time = state_time or state_time_at(time.time())
    return _envelope("CloudWatch Alarm State Change", "aws.cloudwatch",
                     [f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"], {
                         "alarmName": name,
                         "state": {"value": state, "reason": "Threshold Crossed",
                                   "timestamp": state_time},
                         "previousState": {"value": "OK" if state == "ALARM" else "ALARM",
                                           "timestamp": "2024-05-01T00:00:00.000+0000"},
                         "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {
                             "namespace": namespace, "name": metric, "dimensions": dimensions},
                             "period": 60, "stat": stat}, "returnData": True}]},
                     }, account, region)


def status_check_alarm(instance_id, name=None, account=MOTO_ACCOUNT):
    """An instance's StatusCheckFailed alarm going to ALARM."""
    return alarm_state_change(name or f"{instance_id}-StatusCheckFailed",
                              {"InstanceId": instance_id}, metric="StatusCheckFailed",
                              stat="Maximum", account=account)
