"""The soak's fleet: 200 containers of mixed templates, names from 3 to 32 characters.

The fleet is seeded a week before the daemon starts, and the simulator runs that
week alone, so the daemon starts with a week of scheduled backups behind it (its
weekly pin for that week is a catch-up) and some containers whose backups of that
week all failed (no pin is due for them).
"""

import random
import string
from dataclasses import dataclass
from datetime import timedelta

from daemon.simulator import Simulator

TEMPLATES = (
    "nodejs", "python", "postgresql", "mysql", "redis", "mongodb", "nginx", "ubuntu",
    "wordpress", "ghost", "minio", "php-apache", "pocketbase", "forgejo",
    "redis-micro", "nginx-micro", "ubuntu-micro", "pocketbase-micro", "stacks-vpn",
)  # fmt: skip
ALPHABET = string.ascii_lowercase + string.digits
SIZE = 200
PRE_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    template: str


def container_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct valid names whose lengths run through 3..32 (both ends included)."""
    names: list[str] = []
    while len(names) < count:
        length = 3 + len(names) % 30
        letters = [rng.choice(ALPHABET) for _ in range(length)]
        letters[0] = rng.choice(string.ascii_lowercase)
        if length >= 5:
            letters[length // 2] = "-"
        name = "".join(letters)
        if name not in names:
            names.append(name)
    return names


def seed_fleet(sim: Simulator, key: str, rng: random.Random) -> list[Member]:
    """The containers, each running, created at the simulator's current time."""
    fleet = []
    for index, name in enumerate(container_names(rng, SIZE)):
        template = TEMPLATES[index % len(TEMPLATES)]
        fleet.append(Member(sim.seed_container(key, name, template), name, template))
    return fleet


def run_pre_week(sim: Simulator, fleet: list[Member], failing: int) -> set[str]:
    """A week of the simulator alone; the first `failing` containers' backups all fail in it.

    Returns the ids of those containers.
    """
    without_backups = {member.id for member in fleet[:failing]}
    for container_id in without_backups:
        sim.fail_backups(container_id)
    sim.advance(PRE_WEEK.total_seconds())
    for container_id in without_backups:
        sim.fail_backups(container_id, enabled=False)
    return without_backups
