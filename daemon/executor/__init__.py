"""The executor: performs policy and operator decisions through the pre-change backup gate."""

from daemon.executor.executor import Executor, Outcome

__all__ = [
    "Executor",
    "Outcome",
]
