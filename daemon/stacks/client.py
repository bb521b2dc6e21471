"""`StacksClient`: one method per endpoint of the STACKS API guide, with typed results.

    client = StacksClient(ApiKey(secret), budget=RateBudget(60, 10, clock), clock=clock)
    for container in client.list_containers():
        ...

One synchronous `httpx.Client` (redirects off, the key only in `Authorization`),
shared by all threads. Every call goes through `RequestSender` (rate budget,
retries, error translation, observer). The endpoint methods live in the mixins
`ContainerCalls`, `NetworkCalls`, `BackupCalls` and `VpnCalls`; each takes
`priority=` to override its route's default (changes: ACTION; status and other
reads: STATUS; backups: BACKUPS; metrics: METRICS). Failures raise
`daemon.stacks.errors.StacksError`; bad arguments raise `ValueError` before
anything is sent.
"""

import random

import httpx

from daemon import __version__
from daemon.clock import Clock, SystemClock
from daemon.stacks.apikey import ApiKey
from daemon.stacks.backup_calls import BackupCalls
from daemon.stacks.container_calls import ContainerCalls
from daemon.stacks.network_calls import NetworkCalls
from daemon.stacks.observer import ApiObserver
from daemon.stacks.ratebudget import RateBudget
from daemon.stacks.retry import Backoff
from daemon.stacks.sender import RequestSender
from daemon.stacks.vpn_calls import VpnCalls

DEFAULT_BASE_URL = "https://api.stackshosting.cloud/api/v1"


class StacksClient(ContainerCalls, NetworkCalls, BackupCalls, VpnCalls):
    def __init__(
        self,
        api_key: ApiKey,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        budget: RateBudget | None = None,
        clock: Clock | None = None,
        observer: ApiObserver | None = None,
        retries: int = 3,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(api_key, ApiKey):
            raise TypeError("api_key must be an ApiKey (it validates the key format)")
        clock = clock or SystemClock()
        self.budget = budget or RateBudget(clock=clock)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={
                **api_key.bearer_header(),
                "Accept": "application/json",
                "User-Agent": f"stacks-opsd/{__version__}",
            },
        )
        self._sender = RequestSender(
            self._http,
            self.budget,
            clock,
            Backoff(rng=rng or random.Random()),
            retries=retries,
            timeout=timeout,
            observer=observer,
        )
        self.base_url = str(self._http.base_url).rstrip("/")

    def __repr__(self) -> str:
        return f"StacksClient({self.base_url})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "StacksClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
