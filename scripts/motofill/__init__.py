"""Fills the gaps of moto's server that fleetkeeper's tests would hit (see DESIGN.md, "Real
components in tests"). Each module registers missing actions on moto's own response classes and
keeps their state on moto's own backends, so that moto's HTTP routing, parameter parsing,
serialisation, authentication and recorder serve them like any native action.

install() must run before the server handles its first request.
"""

from . import autoscaling, codedeploy, delays, ec2, ecs, iam, ssm, sts

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    for module in (delays, ec2, autoscaling, ssm, iam, codedeploy, sts, ecs):
        module.install()
    _installed = True
