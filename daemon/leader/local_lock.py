"""LocalLeaderLock: for an in-memory SQLite database, which no other process can share."""


class LocalLeaderLock:
    def __init__(self) -> None:
        self._held = False

    def __repr__(self) -> str:
        return f"LocalLeaderLock(held={self._held})"

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        self._held = True
        return True

    def check_alive(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False
