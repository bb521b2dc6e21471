"""Per-key rate limit (headers on every answer, 429 + Retry-After), monthly spending caps (402)."""

from datetime import UTC, datetime

from tests.simulator.conftest import client_for


def test_rate_limit_headers_count_down_and_429_carries_retry_after(sim, clock):
    key = sim.create_key(rate_limit=3)
    with client_for(sim, key) as client:
        answers = [client.get("/containers") for _ in range(4)]
    remaining = [r.headers["X-RateLimit-Remaining"] for r in answers]
    assert remaining == ["2", "1", "0", "0"]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    limited = answers[3]
    reset = int(limited.headers["X-RateLimit-Reset"])
    assert reset > clock.now().timestamp()
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in answers)


def test_rate_limit_window_resets_after_retry_after(sim, clock):
    key = sim.create_key(rate_limit=1)
    with client_for(sim, key) as client:
        assert client.get("/containers").status_code == 200
        limited = client.get("/containers")
        assert limited.status_code == 429
        clock.advance(int(limited.headers["Retry-After"]))
        assert client.get("/containers").status_code == 200


def test_rate_limit_is_per_key(sim):
    first, second = sim.create_key(rate_limit=1), sim.create_key(rate_limit=1)
    with client_for(sim, first) as one, client_for(sim, second) as two:
        assert one.get("/containers").status_code == 200
        assert one.get("/containers").status_code == 429
        assert two.get("/containers").status_code == 200


def test_error_answers_carry_rate_limit_headers_too(sim, api):
    response = api.get("/containers/status/usr-00000000-missing")
    assert response.status_code == 404
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert response.headers[name].isdigit()


def create(client, name, template="nodejs", plan="basic", **extra):
    return client.post(
        "/containers", json={"name": name, "template": template, "plan": plan, **extra}
    )


def test_spending_cap_refuses_the_create_that_would_pass_it(sim):
    key = sim.create_key(spending_cap=10)
    with client_for(sim, key) as client:
        assert create(client, "one").status_code == 202  # $4
        assert create(client, "two").status_code == 202  # $8
        refused = create(client, "three")  # would be $12
        assert create(client, "tiny", template="ubuntu-micro", plan="micro").status_code == 202
        assert create(client, "tiny2", template="ubuntu-micro", plan="micro").status_code == 202
        full = create(client, "tiny3", template="ubuntu-micro", plan="micro")
    assert refused.status_code == 402
    assert refused.json() == {
        "error": "Monthly spending cap reached",
        "spending_cap": 10.0,
        "amount_spent": 8.0,
        "message": "Your API key spending cap of $10.00/month has been reached.",
    }
    assert full.status_code == 402
    assert full.json()["amount_spent"] == 10.0
    assert [m.path for m in sim.mutations()].count("/api/v1/containers") == 4


def test_storage_tier_and_vpn_prices_count(sim):
    key = sim.create_key(spending_cap=14)
    with client_for(sim, key) as client:
        assert create(client, "big", plan="premium", additional_storage_tier=3).status_code == 202
        assert create(client, "vpn", template="stacks-vpn").status_code == 402  # 13 + 5
        assert create(client, "last", template="nginx-micro", plan="micro").status_code == 202


def test_spending_resets_each_calendar_month(sim, clock):
    key = sim.create_key(spending_cap=4)
    with client_for(sim, key) as client:
        assert create(client, "march").status_code == 202
        assert create(client, "march2").status_code == 402
        clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
        assert create(client, "april").status_code == 202


def test_spending_cap_is_per_key(sim):
    capped = sim.create_key(spending_cap=4)
    free = sim.create_key(account=sim.account_of(capped))
    with client_for(sim, capped) as one, client_for(sim, free) as two:
        assert create(one, "first").status_code == 202
        assert create(one, "second").status_code == 402
        assert create(two, "second").status_code == 202
