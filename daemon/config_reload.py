"""Reloading the config without a restart: on SIGHUP or a changed file, validate the new
file in full, then apply it between cycles or keep the running one and log every error.

    reloader = ConfigReloader(daemon.config, apply=daemon.apply_config, metrics=..., clock=...)
    signal.signal(signal.SIGHUP, lambda *_: reloader.request())   # `systemctl reload`
    reloader.check()   # a scheduler job, every CONFIG_TICK: a request, or a changed file?

The file is watched by polling (no inotify: it must work on every mount): its
`stat` (mtime, size, inode) and the target of its symlinks, which is what changes
when Kubernetes updates a ConfigMap volume (the `..data` link is swapped
atomically). A change is reloaded once; a file that stays broken is not
reported again until it changes or SIGHUP asks.

Settings that are wired into long-lived parts at start (`RESTART_ONLY`: the API
client and rate budget, the listener, the audit database, dry run, the instance
name, the log format) keep their running values; a reload that changes them
names each in the log. Everything else (policies, overrides, poll intervals,
and any section added later) is applied live.

Outcome: `stacks_opsd_config_last_reload_successful` (1/0) and
`stacks_opsd_config_last_reload_success_timestamp_seconds`, the names
Prometheus uses for its own config reloads.
"""

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from daemon.clock import Clock
from daemon.config import Config, ConfigError, describe, load_config
from daemon.secrets import mask_url_password

log = logging.getLogger(__name__)

CONFIG_TICK = timedelta(seconds=1)  # how often the file is checked (within any status interval)
RESTART_ONLY = ("api", "daemon")  # sections built into the client, listener and store at start


class ReloadMetrics(Protocol):
    def config_loaded(self, successful: bool, at: datetime) -> None: ...


@dataclass(frozen=True)
class FileState:
    """What identifies one version of the config file, as `stat` and its links show it."""

    target: str  # the path with every symlink resolved
    mtime_ns: int
    size: int
    inode: int


def file_state(path: str) -> FileState | None:
    """The file's state now; None when there is no file (or it cannot be read)."""
    try:
        target = os.path.realpath(path)
        stat = os.stat(target)
    except OSError:
        return None
    return FileState(target, stat.st_mtime_ns, stat.st_size, stat.st_ino)


@dataclass(frozen=True)
class Reload:
    """What one reload did: `applied`, or refused with `errors`; `kept` names the settings
    that changed in the file but keep their running values until a restart."""

    trigger: str
    applied: bool
    errors: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # the live sections whose values changed


def restart_only_changes(running: Config, loaded: Config) -> list[str]:
    """`daemon.listen`-style keys whose loaded value differs from the running one."""
    changed = []
    for section in RESTART_ONLY:
        old, new = getattr(running, section), getattr(loaded, section)
        for field in dataclasses.fields(old):
            if getattr(old, field.name) != getattr(new, field.name):
                changed.append(f"{section}.{field.name}")
    return changed


def keep_restart_only(running: Config, loaded: Config) -> Config:
    """`loaded`, with the running values of the settings that cannot change live."""
    return dataclasses.replace(
        loaded, **{section: getattr(running, section) for section in RESTART_ONLY}
    )


def live_changes(running: Config, loaded: Config) -> list[str]:
    return [
        field.name
        for field in dataclasses.fields(Config)
        if field.metadata.get("toml", True)
        and field.name not in RESTART_ONLY
        and getattr(running, field.name) != getattr(loaded, field.name)
    ]


class ConfigReloader:
    def __init__(
        self,
        running: Config,
        apply: Callable[[Config], None],
        metrics: ReloadMetrics,
        clock: Clock,
        load: Callable[[str | None], Config] = load_config,
    ) -> None:
        """`apply(config)` replaces the running config between cycles (Daemon.apply_config)."""
        self.running = running
        self._apply = apply
        self._metrics = metrics
        self._clock = clock
        self._load = load
        self._path = running.source or None  # None: wherever load_config looks
        self._requested = threading.Event()
        self._lock = threading.Lock()
        self._seen = file_state(running.source) if running.source else None

    def request(self) -> None:
        """Ask for a reload at the next check (safe in a signal handler)."""
        self._requested.set()

    def check(self) -> Reload | None:
        """Reload if asked to or if the file changed since it was last read; else None."""
        with self._lock:
            trigger = None
            if self._requested.is_set():
                self._requested.clear()
                trigger = "SIGHUP"
            now_state = file_state(self._path) if self._path else None
            if trigger is None and self._path and now_state != self._seen:
                trigger = "file changed"
            if trigger is None:
                return None
            self._seen = now_state
            return self._reload(trigger)

    def _reload(self, trigger: str) -> Reload:
        shown = self._path or "the config"
        try:
            loaded = self._load(self._path)
        except ConfigError as error:
            return self._refuse(trigger, shown, error)
        kept = restart_only_changes(self.running, loaded)
        for key in kept:
            section, name = key.split(".")
            running_value = getattr(getattr(self.running, section), name)
            log.warning(
                "config reload (%s): %s changed in the file but cannot change while running; "
                "it keeps %s until the daemon restarts",
                trigger,
                key,
                describe(mask_url_password(running_value))
                if name == "database_url"
                else describe(running_value),
            )
        applied = keep_restart_only(self.running, loaded)
        changed = live_changes(self.running, applied)
        try:
            self._apply(applied)
        except ConfigError as error:  # a part it cannot build (an unreadable sink secret)
            return self._refuse(trigger, shown, error)
        self.running = applied
        self._metrics.config_loaded(True, self._clock.now())
        log.info(
            "config reloaded (%s) from %s: %s",
            trigger,
            shown,
            "changed " + ", ".join(changed) if changed else "no live setting changed",
        )
        return Reload(trigger, applied=True, kept=tuple(kept), changed=tuple(changed))

    def _refuse(self, trigger: str, shown: str, error: ConfigError) -> Reload:
        """Keep running the config loaded before; log every error."""
        self._metrics.config_loaded(False, self._clock.now())
        log.error(
            "config reload (%s) refused: %d error(s) in %s; still running the config "
            "loaded before. Fix the file, check it with `stacks-opsd --config %s "
            "check-config`, then reload again",
            trigger,
            len(error.errors),
            shown,
            shown,
        )
        for line in error.errors:
            log.error("config reload refused: %s", line)
        return Reload(trigger, applied=False, errors=tuple(error.errors))
