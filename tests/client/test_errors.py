"""Every error of the guide's table becomes the right exception, with its documented fields."""

import httpx
import pytest

from daemon.stacks import (
    ApiError,
    AuthError,
    DashboardOnlyError,
    ForbiddenError,
    MalformedResponse,
    NoCapacityError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ScopeError,
    ServerError,
    SpendingCapError,
    TransportError,
    UnconfirmedChange,
    ValidationError,
)
from tests.client.conftest import SECRET, reply

SCOPE_BODY = {
    "error": "API key lacks required scope: containers:delete",
    "required_scope": "containers:delete",
    "key_scopes": ["containers:read", "containers:create"],
}
DASHBOARD_BODY = {
    "error": "This endpoint requires dashboard access (JWT authentication)",
    "hint": "This operation requires human approval via the dashboard.",
}
CAP_BODY = {
    "error": "Monthly spending cap reached",
    "spending_cap": 10.00,
    "amount_spent": 10.00,
    "message": "Your API key spending cap of $10.00/month has been reached.",
}
NAME_BODY = {
    "success": False,
    "error": "Container name must be no more than 32 characters",
    "field": "name",
}
HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_400_carries_the_field(make_client):
    client, _ = make_client(reply(400, NAME_BODY))
    with pytest.raises(ValidationError) as caught:
        client.create_container("x" * 40, "nodejs")
    error = caught.value
    assert (error.field, error.http_status, error.method) == ("name", 400, "POST")
    assert error.route == "/containers"
    assert "no more than 32 characters" in str(error) and "'name'" in str(error)
    assert "names: 3-32 letters" in str(error)


def test_a_400_about_something_else_gives_no_advice_about_names(make_client):
    body = {"success": False, "error": "Container must be running to create a backup"}
    client, _ = make_client(reply(400, body))
    with pytest.raises(ValidationError) as caught:
        client.trigger_backup("usr-0000abcd-web")
    assert "must be running to create a backup" in str(caught.value)
    assert "names:" not in str(caught.value)


def test_401_says_to_check_or_recreate_the_key(make_client):
    client, _ = make_client(reply(401, {"error": "Invalid API key"}))
    with pytest.raises(AuthError) as caught:
        client.list_containers()
    assert "Invalid API key" in str(caught.value)
    assert "key file" in str(caught.value) and "dashboard" in str(caught.value)


def test_402_carries_cap_and_amount(make_client):
    client, _ = make_client(reply(402, CAP_BODY))
    with pytest.raises(SpendingCapError) as caught:
        client.create_container("my-api", "nodejs")
    assert (caught.value.spending_cap, caught.value.amount_spent) == (10.0, 10.0)
    assert "$10.00" in str(caught.value) and "spending cap" in str(caught.value)


def test_403_scope_and_dashboard_only_are_told_apart(make_client):
    client, _ = make_client(reply(403, SCOPE_BODY), reply(403, DASHBOARD_BODY), reply(403, {}))
    with pytest.raises(ScopeError) as scope:
        client.delete_container("usr-abc12345-myapp")
    assert scope.value.required_scope == "containers:delete"
    assert scope.value.key_scopes == ("containers:read", "containers:create")
    assert "containers:delete" in str(scope.value)

    with pytest.raises(DashboardOnlyError) as dashboard:
        client.list_containers()
    assert dashboard.value.hint == DASHBOARD_BODY["hint"]
    assert "human approval" in str(dashboard.value)

    with pytest.raises(ForbiddenError) as other:
        client.list_containers()
    assert type(other.value) is ForbiddenError


def test_404_names_the_request(make_client):
    client, _ = make_client(reply(404, {"error": "Container not found"}))
    with pytest.raises(NotFoundError) as caught:
        client.container_status("usr-abc12345-gone")
    error = caught.value
    assert error.route == "/containers/status/{container_id}"
    assert error.path == "/containers/status/usr-abc12345-gone"
    assert "GET /containers/status/usr-abc12345-gone" in str(error)


def test_429_carries_retry_after(make_client, clock):
    client, _ = make_client(
        reply(429, {"error": "Too many requests"}, {"Retry-After": "7"}), retries=0
    )
    with pytest.raises(RateLimitedError) as caught:
        client.list_containers()
    assert caught.value.retry_after == 7.0
    assert client.budget.throttled_total == 1


@pytest.mark.parametrize(("status", "kind"), [(500, ServerError), (502, ServerError)])
def test_5xx_is_a_server_error(make_client, status, kind):
    client, fake = make_client(reply(status, {"error": "Internal server error"}), retries=0)
    with pytest.raises(kind) as caught:
        client.list_containers()
    assert caught.value.http_status == status
    assert len(fake.requests) == 1


def test_503_is_no_capacity(make_client):
    body = {"success": False, "error": "No capacity available. You've been added to the waitlist."}
    client, _ = make_client(reply(503, body))
    with pytest.raises(NoCapacityError) as caught:
        client.create_container("my-api", "nodejs")
    assert isinstance(caught.value, ServerError)
    assert "waitlist" in str(caught.value)


def test_an_html_error_page_keeps_its_status_meaning(make_client):
    client, _ = make_client(reply(502, text=HTML, headers={"content-type": "text/html"}), retries=0)
    with pytest.raises(ServerError) as caught:
        client.list_containers()
    assert "not JSON" in str(caught.value) and "text/html" in str(caught.value)
    assert "<html>" not in str(caught.value)


def test_an_html_page_with_200_is_malformed(make_client):
    client, _ = make_client(reply(200, text=HTML, headers={"content-type": "text/html"}), retries=0)
    with pytest.raises(MalformedResponse) as caught:
        client.list_containers()
    assert caught.value.retryable
    assert "<html>" not in str(caught.value)


def test_truncated_json_is_malformed_and_its_content_is_not_quoted(make_client):
    body = b'{"success": true, "data": {"mainCredentials": {"password": "hunter2-very-secret'
    client, _ = make_client(httpx.Response(200, content=body), retries=0)
    with pytest.raises(MalformedResponse) as caught:
        client.credentials("usr-abc12345-mydb")
    assert "not valid JSON" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_json_of_the_wrong_shape_is_malformed_and_not_retryable(make_client):
    client, fake = make_client(reply(200, {"success": True, "data": {"not": "a list"}}))
    with pytest.raises(MalformedResponse) as caught:
        client.list_containers()
    assert not caught.value.retryable
    assert "documented shape" in str(caught.value)
    assert len(fake.requests) == 1
    assert caught.value.__cause__ is not None  # translated from MalformedData, chained


def test_timeouts_and_connect_errors_have_no_status(make_client):
    client, _ = make_client(
        httpx.ReadTimeout("timed out"), httpx.ConnectError("connection refused"), retries=0
    )
    with pytest.raises(UnconfirmedChange) as unconfirmed:
        client.trigger_backup("usr-abc12345-mydb")
    assert unconfirmed.value.http_status is None
    assert "read its state back" in str(unconfirmed.value)
    timeout = unconfirmed.value.__cause__
    assert isinstance(timeout, RequestTimeout) and timeout.sent
    assert "may still have processed it" in str(timeout)
    assert isinstance(timeout.__cause__, httpx.ReadTimeout)

    with pytest.raises(TransportError) as refused:
        client.list_containers()
    assert "connection refused" in str(refused.value)
    assert not isinstance(refused.value, RequestTimeout)
    assert not refused.value.sent


def test_a_redirect_is_not_followed(make_client):
    client, fake = make_client(reply(301, {}, {"location": "https://elsewhere.example/api"}))
    with pytest.raises(ApiError) as caught:
        client.list_containers()
    assert caught.value.http_status == 301
    assert "elsewhere.example" in str(caught.value) and "base_url" in str(caught.value)
    assert len(fake.requests) == 1


def test_server_text_that_echoes_the_key_is_scrubbed(make_client):
    client, _ = make_client(reply(401, {"error": f"Invalid API key {SECRET}"}))
    with pytest.raises(AuthError) as caught:
        client.list_containers()
    assert SECRET not in str(caught.value) and "sk_stacks_[redacted]" in str(caught.value)
    assert SECRET not in (caught.value.detail or "")
