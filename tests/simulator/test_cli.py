"""`stacks-opsd simulator` argument handling (serving itself is covered by test_conformance)."""

import pytest

from daemon.cli.main import main
from daemon.cli.simulator_command import parse_listen


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:", ":8080", "127.0.0.1:99999"])
def test_bad_listen_address_is_a_usage_error(listen, capsys):
    assert main(["simulator", "--listen", listen]) == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_listen_accepts_ipv4_and_bracketed_ipv6():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
