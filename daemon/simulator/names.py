"""Container name rules of the guide, answering 400 with `field: "name"` like the API."""

import re

from daemon.simulator.exchange import bad_request


def validate_name(name: object, taken: set[str]) -> str:
    """`name` if valid and free in the account, else the API's 400 error."""
    if name is None or name == "":
        raise bad_request("Container name is required", "name")
    if not isinstance(name, str):
        raise bad_request("Container name must be a string", "name")
    if len(name) < 3:
        raise bad_request("Container name must be at least 3 characters", "name")
    if len(name) > 32:
        raise bad_request("Container name must be no more than 32 characters", "name")
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise bad_request("Container name can only contain letters, numbers, and hyphens", "name")
    if name[0] == "-" or name[-1] == "-":
        raise bad_request("Container name must start and end with a letter or number", "name")
    if "--" in name:
        raise bad_request("Container name cannot contain consecutive hyphens", "name")
    if name in taken:
        raise bad_request(f"A container named '{name}' already exists in your account", "name")
    return name
