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
from daemon.exporter import MetricsServer
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


def metrics_server(config: Config, daemon: Daemon) -> MetricsServer:
    return MetricsServer(
        config.daemon.listen,
        daemon.metrics.registry,
        daemon.health,
        daemon.status,
        tls_cert_file=config.daemon.tls_cert_file or None,
        tls_key_file=config.daemon.tls_key_file or None,
        basic_auth=basic_auth(config),
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    configure_logging(config.daemon.log_format)
    key = api_key_from(config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()
    daemon = Daemon(config, key, clock, instance=instance_name(config), notifier=SystemdNotifier())
    reloader = ConfigReloader(config, daemon.apply_config, daemon.metrics.ops, clock)
    signal.signal(signal.SIGHUP, lambda *_: reloader.request())
    serve(daemon, metrics_server(config, daemon), config, stop, reloader)
    exit_now(0)
