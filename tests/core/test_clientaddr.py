"""The client address used for per-client login throttling: taken from X-Forwarded-For only as
far as trusted proxies wrote it, never from entries a client could write itself."""

from __future__ import annotations

import os

import pydantic
import pytest

from textedit_core.infra.clientaddr import client_address
from textedit_core.infra.config import Settings

PEER = "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address(PEER, "203.0.113.7", 0) == PEER


def test_one_proxy_gives_the_last_entry():
    assert client_address(PEER, "198.51.100.1, 203.0.113.7", 1) == "203.0.113.7"


def test_two_proxies_give_the_second_to_last_entry():
    assert client_address(PEER, "198.51.100.1, 203.0.113.7, 10.0.0.9", 2) == "203.0.113.7"


def test_entries_a_client_put_before_the_proxies_are_ignored():
    # The client sent "X-Forwarded-For: 1.1.1.1, 2.2.2.2"; the one proxy appended what it saw.
    assert client_address(PEER, "1.1.1.1, 2.2.2.2, 203.0.113.7", 1) == "203.0.113.7"


def test_fewer_entries_than_proxies_fall_back_to_the_peer():
    assert client_address(PEER, "203.0.113.7", 2) == PEER


def test_a_missing_header_falls_back_to_the_peer():
    assert client_address(PEER, None, 1) == PEER
    assert client_address(PEER, "", 1) == PEER


@pytest.mark.parametrize(
    "garbage",
    ["unknown", "203.0.113.7:4711", "[2001:db8::1]", "203.0.113", "<script>", " , "],
)
def test_an_entry_that_is_not_an_address_falls_back_to_the_peer(garbage):
    assert client_address(PEER, f"198.51.100.1, {garbage}", 1) == PEER


def test_an_ipv4_mapped_ipv6_address_is_the_ipv4_address():
    assert client_address("::ffff:127.0.0.1", None, 0) == "127.0.0.1"
    assert client_address(PEER, "::ffff:203.0.113.7", 1) == "203.0.113.7"


def test_ipv6_addresses_are_written_one_way():
    assert client_address(PEER, "2001:DB8:0:0::1", 1) == "2001:db8::1"


def test_a_peer_that_is_not_an_address_gives_none():
    assert client_address("garbage", None, 0) is None
    assert client_address(None, "203.0.113.7", 0) is None


# --- the settings -----------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("TEXTEDIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_no_proxy_is_trusted_by_default(clean_environment):
    assert Settings(_env_file=None).trusted_proxies == 0


def test_a_client_ip_header_without_trusted_proxies_stops_the_start(clean_environment, monkeypatch):
    # It used to be trusted on its own: ignoring it silently would put every client behind the
    # proxy under the proxy's one address.
    monkeypatch.setenv("TEXTEDIT_CLIENT_IP_HEADER", "X-Forwarded-For")
    with pytest.raises(pydantic.ValidationError, match="set TEXTEDIT_TRUSTED_PROXIES"):
        Settings(_env_file=None)


def test_a_client_ip_header_with_trusted_proxies_is_read(clean_environment, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_CLIENT_IP_HEADER", "X-Real-IP")
    monkeypatch.setenv("TEXTEDIT_TRUSTED_PROXIES", "1")
    assert Settings(_env_file=None).client_ip_header == "X-Real-IP"
