"""`stacks-opsd run`: the daemon until SIGTERM/SIGINT, then a graceful exit 0; SIGHUP (or
a change of the config file) reloads the config without a restart."""

import argparse
import signal
import threading

from daemon.cli.errors import UsageError
from daemon.cli.startup import api_key_from, config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.config import Config
from daemon.config_reload import ConfigReloader
from daemon.exporter import Listener, ListenerError, MetricsServer
from daemon.log_setup import configure_logging
from daemon.runtime import Daemon
from daemon.secret_file import SecretFileError, read_secret_file
from daemon.service import exit_now, serve
from daemon.systemd_notify import SystemdNotifier


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the daemon until SIGTERM/SIGINT", description=__doc__
    )
    parser.set_defaults(handler=run)


def basic_auth(config: Config) -> tuple[str, str] | None:
    if not config.daemon.basic_auth_user:
        return None
    try:
        password = read_secret_file(config.daemon.basic_auth_password_file)
    except SecretFileError as error:
        raise UsageError(
            f"daemon.basic_auth_password_file: {error}; it must hold the password alone"
        ) from None
    return config.daemon.basic_auth_user, password.text


def listener(config: Config) -> Listener:
    """The metrics listener as `[daemon]` sets it up, its certificate, key and password read:
    what `run` needs before it opens anything, and what `check-config` checks. UsageError
    naming every problem, one a line."""
    problems, auth = [], None
    try:
        auth = basic_auth(config)
    except UsageError as error:
        problems.append(str(error))
    try:
        built = Listener.of(
            config.daemon.listen,
            tls_cert_file=config.daemon.tls_cert_file or None,
            tls_key_file=config.daemon.tls_key_file or None,
            basic_auth=auth,
        )
    except ListenerError as error:
        problems.append(str(error))
    if problems:
        raise UsageError("\n".join(problems))
    return built


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    configure_logging(config.daemon.log_format)
    key = api_key_from(config)
    serving = listener(config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()
    daemon = Daemon(config, key, clock, instance=instance_name(config), notifier=SystemdNotifier())
    reloader = ConfigReloader(config, daemon.apply_config, daemon.metrics.ops, clock)
    signal.signal(signal.SIGHUP, lambda *_: reloader.request())
    server = MetricsServer(serving, daemon.metrics.registry, daemon.health, daemon.status)
    serve(daemon, server, config, stop, reloader)
    exit_now(0)
