"""What the simulator assumes where the guide is silent: one switch per open behaviour.

The guide is the only description of the real API. Where it states a rule the
simulator keeps it unconditionally (a manual backup and a restore need a
`running` container, the last allowed IP cannot be removed, a certificate exists
only for compute containers, `lines` <= 500 and `limit` <= 100, ...). Where it
leaves a behaviour open, the simulator's choice is a field of `Assumptions`
below, so a test can run the daemon against each variant. The defaults add no
refusal the guide does not state, and keep timings inside what the guide says.

Decided once and not switchable (answer shapes the client must parse anyway):
- success answers are 200, except create and manual backup (202); error bodies
  are `{"error": ...}` (401, 402, 403, 404, 429) or `{"success": false, "error",
  "field"?}` (400).
- `PUT status` answers `{"success","message","data":{"id","status"}}` with the
  status after the change; restore answers `{"success","message","data":
  {"backup_id","container_id","status"}}`.
- certificates (`data.privateKey`) and VPN configs (`data.config`, WireGuard
  text) are JSON; a certificate of a managed service is 400.
- logs: `data.logs` is a list of lines; `lines` and `limit` that are not whole
  numbers of at least 1 are 400.
- backup stats of an account without backups: counts "0", size "0",
  `last_backup_at` null (newest `created_at` otherwise).
- a container name is unique in its account (the id `usr-<account>-<name>` is
  built from it); a VPN client name is unique in its container (paths name it).
- the rate limit is a fixed window of one minute aligned to the minute.
- a status the guide does not list (set by a test control, e.g. `starting`) is
  "not running" for every rule: no manual or scheduled backup, no restore, and
  `PUT status` treats it as it treats `stopped` or `error`.
- every start, stop and restart that changes the status moves `updatedAt`, and so
  does a restore, so a client can tell from `GET /containers/status/{id}` that it
  happened; a request that changes nothing leaves `updatedAt` alone.
- deleting a container deletes its backups and its connections.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any

from daemon.simulator.exchange import check_field_names

START_WHEN_RUNNING = ("noop", "restart", "refuse")
STOP_WHEN_STOPPED = ("noop", "refuse")
QUERY_OVER_MAX = ("clamp", "refuse")
RESTARTING = "restarting"  # the transitional status of `restart_transition`


@dataclass(frozen=True)
class Assumptions:
    """Each field: what the guide says (or not), then what each value does."""

    pin_requires_completed: bool = False
    """Guide: "Protect a backup from automatic cleanup", no condition. False: any
    backup can be pinned (in_progress, failed). True: pinning a backup that is not
    `completed` is 400."""

    restore_requires_completed: bool = False
    """Guide: only "Container must be in running status". False: any backup of a
    running container can be restored. True: restoring a backup that is not
    `completed` is 400."""

    restore_restarts: bool = True
    """Guide: silent on what a restore does to the container. True: the container
    restarts (as `PUT status restart`, `restart_transition` included). False: its
    status stays as it was. Either way `updatedAt` moves to the restore's time."""

    delete_backup_requires_finished: bool = False
    """Guide: `DELETE /backups/{id}`, no condition. False: an in_progress backup is
    deleted (it never finishes). True: deleting an in_progress backup is 400."""

    manual_backup_requires_none_in_progress: bool = False
    """Guide: "Manual backups can be triggered at any time" (container running).
    False: a second manual backup starts beside a running one. True: a manual backup
    while one of the container's backups is in_progress is 400."""

    manual_backup_seconds: tuple[int, int] = (3, 8)
    """Guide: "Backup runs in the background", no duration. A manual backup takes a
    whole number of seconds drawn from this inclusive range (seeded)."""

    scheduled_backup_requires_running: bool = True
    """Guide: "Daily automated backups run at 2:00 AM UTC", silent on containers that
    are not running. True: only running containers get the daily backup (retention
    still runs for the others). False: every container gets it, whatever its status."""

    status_change_requires_not_pending: bool = False
    """Guide: silent on `PUT status` before creation finished. False: it applies as
    to a stopped container (`stopped` stops it; `running`/`restart` start it now),
    and creation finishing later changes nothing. True: it is 400 while `pending`."""

    start_when_running: str = "noop"
    """Guide: `running` = "Start the container", silent when it already runs.
    "noop": 200 "Container is already running", status and `updatedAt` unchanged.
    "restart": it restarts (as `restart`, `updatedAt` moves). "refuse": 400."""

    stop_when_stopped: str = "noop"
    """Guide: `stopped` = "Stop the container", silent when it is already stopped.
    "noop": 200, status and `updatedAt` unchanged. "refuse": 400."""

    restart_transition: float = 0.0
    """Guide: `restart` = "Restart the container", silent on how long it takes. 0: the
    container is `running` at once. N > 0: it shows status `restarting` for N
    seconds, then `running` (a stop or another change meanwhile wins). Start of a
    stopped container is always immediate."""

    plan_fits_template: bool = False
    """Guide: `plan` is "micro, basic, standard, or premium (default: basic)", and the
    templates are listed by tier (a Micro Tier at the micro plan's price); silent on a
    plan of another tier. A template takes its tier's plan when none is given (micro
    for a micro template). False: any plan is taken. True: a micro template takes
    only micro, the others only basic, standard or premium (400 naming `plan`)."""

    creation_seconds: float = 15.0
    """Guide: "typically ... from pending to running within 10-30 seconds". Seconds
    from `POST /containers` until the container is `running`."""

    query_over_max: str = "clamp"
    """Guide: `lines` "(max: 500)", backups `limit` "(max: 100)", silent on larger
    values. "clamp": the maximum is answered. "refuse": 400 naming the field."""

    allowed_ip_requires_external_access: bool = False
    """Guide: enabling external access adds the caller's IP, disabling clears the
    list; silent on adding while disabled. False: the IP is added to the list (and
    cleared by the next disable). True: adding while disabled is 400."""

    allowed_ip_requires_new_address: bool = False
    """Guide: silent on adding an address already listed. False: a second entry with
    its own id is added. True: 400 naming `ip_address`."""

    connection_requires_new_pair: bool = False
    """Guide: silent on connecting the same source to the same target twice. False: a
    second connection is created. True: 400."""

    connection_requires_other_target: bool = False
    """Guide: silent on connecting a container to itself (available-targets never
    lists itself). False: the connection is created. True: 400."""

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("start_when_running", self.start_when_running, START_WHEN_RUNNING),
            ("stop_when_stopped", self.stop_when_stopped, STOP_WHEN_STOPPED),
            ("query_over_max", self.query_over_max, QUERY_OVER_MAX),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type is bool and not isinstance(value, bool):
                raise ValueError(f"{f.name} must be true or false, got {value!r}")
        for name in ("restart_transition", "creation_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        low_high = self.manual_backup_seconds
        if (
            not isinstance(low_high, tuple)
            or len(low_high) != 2
            or any(isinstance(n, bool) or not isinstance(n, int) for n in low_high)
            or not 0 <= low_high[0] <= low_high[1]
        ):
            raise ValueError(
                f"manual_backup_seconds must be [low, high] whole seconds with 0 <= low <= high, "
                f"got {low_high!r}"
            )

    @classmethod
    def from_json(cls, data: dict[str, Any], base: "Assumptions | None" = None) -> "Assumptions":
        """Switches from JSON; unnamed ones keep `base`'s value (the defaults when None)."""
        check_field_names(cls, data, "assumption(s)")
        values = {**asdict(base or cls()), **data}
        if isinstance(values["manual_backup_seconds"], list):
            values["manual_backup_seconds"] = tuple(values["manual_backup_seconds"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["manual_backup_seconds"] = list(self.manual_backup_seconds)
        return data
