"""`stacks-opsd demo`: the simulator and the daemon in one process; Ctrl-C ends it."""

import argparse
import signal
import threading

from daemon.cli.errors import UsageError
from daemon.config import split_host_port
from daemon.demo import run_demo
from daemon.durations import parse_duration
from daemon.log_setup import configure_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the daemon against the built-in simulator, with crashes, backups and pins",
        description=__doc__,
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:9847", help="metrics listener (default 127.0.0.1:9847)"
    )
    parser.add_argument("--duration", help='end by itself after this long, e.g. "60s"')
    parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    try:
        duration = parse_duration(args.duration) if args.duration else None
    except ValueError as error:
        raise UsageError(f"--duration: {error}") from None
    try:
        split_host_port(args.listen)
    except ValueError as error:
        raise UsageError(f"--listen: {error}") from None
    configure_logging("text", level=30)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return run_demo(args.listen, duration, stop, lambda line: print(line, flush=True))
