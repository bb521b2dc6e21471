"""`stacks-opsd notify test [SINK]`: send a sample notification and print each receiver's answer.

Touches neither the audit database nor any sink's cursor: the sample is a row
shaped like a real one (id 0, `"test": true` in its details). Exit 0 when every
sink tried took it, 1 when one did not, 2 when the config names no such sink.
"""

import argparse

from daemon.cli.errors import CliError, UsageError
from daemon.cli.startup import config_from_args, instance_name
from daemon.clock import SystemClock
from daemon.notify import SinkError, build_sink, sample_notification


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notify", help="notification sinks ([[notify]] tables)")
    commands = parser.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    test = commands.add_parser(
        "test", help="send a sample notification and print the receiver's answer"
    )
    test.add_argument("sink", nargs="?", help="the sink's name (default: every sink)")
    test.set_defaults(handler=notify_test)


def notify_test(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    names = [sink.name for sink in config.notify]
    if not names:
        raise UsageError(
            f"{config.source or 'the config'}: no [[notify]] tables; add one (see the README's "
            "Notifications section) to send a test"
        )
    chosen = [sink for sink in config.notify if args.sink in (None, sink.name)]
    if not chosen:
        raise UsageError(
            f"no notification sink named {args.sink!r}; configured: {', '.join(names)}"
        )
    notification = sample_notification(SystemClock().now(), instance_name(config))
    failed = []
    for settings in chosen:
        sink = build_sink(settings)
        try:
            receipt = sink.send(notification)
        except SinkError as error:
            print(f"{settings.name} ({settings.kind}): FAILED ({error.result}): {error}")
            failed.append(settings.name)
            continue
        finally:
            sink.close()
        status = f"HTTP {receipt.status}" if receipt.status is not None else "OK"
        print(f"{settings.name} ({settings.kind}): {status}: {receipt.answer or '(empty answer)'}")
    if failed:
        raise CliError(f"the test notification did not reach: {', '.join(failed)}")
    return 0
