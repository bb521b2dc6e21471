"""Per-key monthly spending caps: what each key's creations cost in a calendar month (UTC)."""

from datetime import datetime

from daemon.simulator.exchange import ApiError
from daemon.simulator.state import KeyRecord


class SpendingLedger:
    def __init__(self) -> None:
        self._spent: dict[tuple[str, str], float] = {}  # (key, "YYYY-MM") -> USD

    def spent(self, key: str, now: datetime) -> float:
        return self._spent.get((key, now.strftime("%Y-%m")), 0.0)

    def charge(self, key: KeyRecord, price: float, now: datetime) -> None:
        """Record a creation costing `price`, or 402 when it would pass the key's cap."""
        spent = self.spent(key.secret, now)
        cap = key.spending_cap
        if cap is not None and spent + price > cap + 1e-9:
            raise ApiError(
                402,
                {
                    "error": "Monthly spending cap reached",
                    "spending_cap": float(cap),
                    "amount_spent": round(spent, 2),
                    "message": f"Your API key spending cap of ${cap:.2f}/month has been reached.",
                },
            )
        self._spent[(key.secret, now.strftime("%Y-%m"))] = spent + price
