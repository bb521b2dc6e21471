"""Concurrent appends, from threads and from two processes, never fork the chain."""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

from daemon.audit import AuditStore, new_action_id
from tests.audit.append_worker import append_rows


def test_appends_from_many_threads_keep_one_chain(store: AuditStore) -> None:
    def append_some(worker: int) -> None:
        for index in range(20):
            store.append(
                f"policy:p{worker}",
                "backup.create",
                "started",
                action_id=new_action_id(),
                target=f"{worker}-{index}",
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append_some, range(6)))

    result = store.verify()
    assert (result.ok, result.checked) == (True, 120)
    assert len({row.target for row in store.query()}) == 120


def test_appends_from_two_processes_keep_one_chain(database_url: str, store: AuditStore) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=append_rows, args=(database_url, f"proc:{n}", 40, barrier))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0]
    result = store.verify()
    assert (result.ok, result.checked) == (True, 80)
    assert {row.instance for row in store.query()} == {"proc:0", "proc:1"}
