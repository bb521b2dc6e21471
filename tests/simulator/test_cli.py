"""`stacks-opsd simulator` argument handling (serving itself is covered by test_conformance)."""

import pytest

from daemon.cli.main import main
from daemon.config import split_host_port


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:", ":8080", "127.0.0.1:99999"])
def test_bad_listen_address_is_a_usage_error(listen, capsys):
    assert main(["simulator", "--listen", listen]) == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_listen_accepts_ipv4_and_bracketed_ipv6():
    assert split_host_port("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_host_port("[::1]:0") == ("::1", 0)
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_host_port("::1:8080")  # an IPv6 address needs its brackets
