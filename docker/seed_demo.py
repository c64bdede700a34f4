"""Seeds the compose demo's moto with what the README's walkthrough needs: the Parameter Store
parameter `foo` of the testdata's event (account 123456789012, us-east-1) holding an available AMI,
and one standalone instance on an older AMI bound to it by the tag fleetkeeper:ami-parameter.
Replaying ../shared/testdata/events/ then rolls that instance to the new AMI."""

import os
import time

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://moto:5000")
PARAMETER = os.environ.get("FK_DEMO_PARAMETER", "foo")


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def wait_for_moto(deadline_s=60):
    end = time.time() + deadline_s
    while True:
        try:
            client("sts").get_caller_identity()
            return
        except Exception:  # moto still starting
            if time.time() > end:
                raise
            time.sleep(1)


def seed_rollout(ec2, ssm, parameter, name):
    """`parameter` holds an available AMI; one standalone instance named `name` runs an older one
    and is bound to the parameter by tag. Returns (instance id, old image id, new image id).
    tests/integration/test_first_run.py seeds its moto with this too."""
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]
              if i.get("State", "available") == "available"]
    old, new = images[0], images[1]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    instance = ec2.run_instances(
        ImageId=old, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "fleetkeeper:ami-parameter", "Value": parameter},
            {"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]
    # Running before the parameter moves: a rollout skips an instance that is still pending.
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ssm.put_parameter(Name=parameter, Value=new, Type="String", Overwrite=True)
    return instance, old, new


def main():
    wait_for_moto()
    instance, old, new = seed_rollout(client("ec2"), client("ssm"), PARAMETER, "fleetkeeper-demo")
    print(f"seeded: parameter {PARAMETER} = {new}; instance {instance} runs {old}", flush=True)


if __name__ == "__main__":
    main()
