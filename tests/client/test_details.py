"""Typed container details: credentials, certificates, logs and templates, secrets hidden."""

from tests.client.conftest import reply

C = "usr-abc12345-myapp"


def test_credentials_hide_the_password(make_client):
    body = {
        "success": True,
        "credentials": [{"label": "Database", "password": "generated-password"}],
        "data": {
            "containerName": "mydb", "type": "postgresql",
            "mainCredentials": {"username": "admin", "password": "generated-password"},
            "connectionInfo": {"host": "10.52.0.5", "port": 5432,
                               "internalHost": "usr-abc12345-mydb"},
        },
    }  # fmt: skip
    client, _ = make_client(reply(200, body))
    creds = client.credentials("usr-abc12345-mydb")
    assert (creds.username, creds.port, creds.internal_host) == ("admin", 5432, "usr-abc12345-mydb")
    assert creds.password.reveal() == "generated-password"
    assert "generated-password" not in repr(creds) and "generated-password" not in str(creds)
    assert "generated-password" not in f"{creds.password}"


def test_a_certificate_as_a_file_or_json_is_secret(make_client):
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    client, _ = make_client(
        reply(200, text=pem, headers={"content-type": "application/x-pem-file"}),
        reply(200, {"success": True, "data": {"privateKey": pem, "filename": "myapp.pem"}}),
    )
    for certificate in (client.certificate(C), client.certificate(C)):
        assert certificate.private_key.reveal() == pem
        assert "PRIVATE KEY" not in repr(certificate)


def test_logs_and_templates_in_tolerant_shapes(make_client):
    client, _ = make_client(
        reply(200, {"success": True, "data": {"logs": "one\ntwo\n"}}),
        reply(200, {"success": True, "data": [{"timestamp": "t1", "message": "one"}, "two"]}),
        reply(200, {"success": True, "data": [{"id": "nodejs", "name": "Node.js",
                                               "category": "Runtime", "price": 4}]}),
        reply(200, {"success": True,
                    "data": {"micro": [{"id": "ubuntu-micro", "price": "$1/month"}]}}),
    )  # fmt: skip
    assert client.logs(C).lines == ("one", "two")
    assert client.logs(C, lines=2).lines == ("t1 one", "two")
    [nodejs] = client.templates()
    assert (nodejs.id, nodejs.category, nodejs.price_monthly) == ("nodejs", "Runtime", 4.0)
    [micro] = client.templates()
    assert (micro.category, micro.price_monthly) == ("micro", 1.0)


def test_logs_that_are_null_beside_their_count_are_no_lines(make_client):
    client, _ = make_client(
        reply(200, {"success": True, "data": {"container_id": C, "lines": 100, "logs": None}})
    )
    assert client.logs(C).lines == ()
