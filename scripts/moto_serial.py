"""moto's server, answering one request at a time.

`moto_server` runs werkzeug with threaded=True, and moto's DynamoDB backend evaluates a
ConditionExpression and writes without a lock, so two concurrent conditional writes to one item
can both succeed -- which DynamoDB itself never allows. The request-store contract checks exactly
that guarantee (N concurrent approvals, one winner), so the tests run moto single-threaded: the
requests still arrive concurrently, the emulator just serialises them like DynamoDB does per item.

It also answers SSM's DescribeInstanceInformation, which moto (5.2.5) does not implement, from
moto's own EC2 state the way the SSM agent registers a node: an instance is a managed node,
pinging Online, while it is running and was launched with an instance profile, given directly or
by its launch template as EC2 applies it (moto 5.2.5 drops a template's; without a role the agent
cannot register). The bastion fleet's readiness check reads it.

Usage: python moto_serial.py HOST PORT
"""

import json
import os
import sys
import time

from werkzeug.serving import run_simple

from moto.ec2 import ec2_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.ssm.responses import SimpleSystemManagerResponse


def instance_profile(backend, instance):
    """The instance profile `instance` runs with: its own, else its launch template's."""
    if instance.iam_instance_profile:
        return instance.iam_instance_profile
    tags = {tag["key"]: tag["value"] for tag in backend.describe_tags(filters={"resource-id": [instance.id]})}
    template = tags.get("aws:ec2launchtemplate:id")
    if not template:
        return None
    version = backend._get_template_from_args(
        {"LaunchTemplateId": template, "Version": tags.get("aws:ec2launchtemplate:version")}
    )
    return version.data.get("IamInstanceProfile")


def describe_instance_information(self) -> str:
    """SSM's managed nodes of the caller's account and region, filtered by instance id."""
    wanted = set()
    for condition in self._get_param("Filters") or []:
        if condition.get("Key") == "InstanceIds":
            wanted.update(condition.get("Values") or [])
    for condition in self._get_param("InstanceInformationFilterList") or []:
        if condition.get("key") == "InstanceIds":
            wanted.update(condition.get("valueSet") or [])
    nodes = [
        {
            "InstanceId": instance.id,
            "PingStatus": "Online",
            "LastPingDateTime": time.time(),
            "ResourceType": "EC2Instance",
            "PlatformType": "Linux",
            "AgentVersion": "3.3.0.0",
            "IPAddress": instance.private_ip,
        }
        for backend in [ec2_backends[self.current_account][self.region]]
        for instance in backend.all_instances()
        if (not wanted or instance.id in wanted)
        and instance.state == "running"
        and instance_profile(backend, instance)
    ]
    return json.dumps({"InstanceInformationList": nodes})


SimpleSystemManagerResponse.describe_instance_information = describe_instance_information


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        app,
        threaded=False,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
