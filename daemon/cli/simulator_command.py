"""`stacks-opsd simulator`: serve the local STACKS API over HTTP and print a ready API key."""

import argparse
import secrets
import signal
import sys
import threading

from daemon.config import split_host_port
from daemon.simulator import Simulator

DEFAULT_LISTEN = "127.0.0.1:8080"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="serve a local STACKS API simulator",
        description="Serve a faithful local STACKS API (the guide's endpoints under /api/v1, "
        "test controls under /_sim/) and print an API key with all scopes.",
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default {DEFAULT_LISTEN}; port 0 picks a free port)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for repeatable keys, ids and faults"
    )
    parser.set_defaults(handler=run_simulator)


def run_simulator(args: argparse.Namespace) -> int:
    try:
        host, port = split_host_port(args.listen)
    except ValueError as error:
        print(f"stacks-opsd simulator: {error}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    sim = Simulator(seed=seed)
    key = sim.create_key()
    try:
        server = sim.serve(host, port)
    except OSError as error:
        print(f"stacks-opsd simulator: cannot listen on {args.listen}: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    api = f"{server.url}/api/v1"
    print(f"STACKS simulator serving the API at {api}", flush=True)
    print(f"api key: {key}", flush=True)
    print(f'try: curl -H "Authorization: Bearer {key}" {api}/containers', flush=True)
    print(
        f"test controls: {server.url}/_sim/ (keys, containers, faults, clock/advance, mutations)",
        flush=True,
    )
    print("press Ctrl-C to stop", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
    print("simulator stopped", flush=True)
    return 0
