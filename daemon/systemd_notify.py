"""The systemd notify protocol: READY=1, WATCHDOG=1 and STOPPING=1 over $NOTIFY_SOCKET.

Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.
`watchdog_interval()` is half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises.
"""

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self._address = address
        self._watchdog_usec = int(env.get("WATCHDOG_USEC", "0") or 0)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings, or None when systemd wants none."""
        return self._watchdog_usec / 2_000_000 if self._watchdog_usec > 0 else None

    def notify(self, message: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode())
        except OSError as error:
            log.warning("could not notify systemd (%s): %s", message.split("=")[0], error)

    def ready(self, status: str) -> None:
        self.notify(f"READY=1\nSTATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
