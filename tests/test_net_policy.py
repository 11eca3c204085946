"""The network policy as a pure function: every refused class and spelling, and what allow_private unlocks.

Addresses off this machine appear here only as data; nothing here connects anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NOW

from bot.cli.doctor import run_checks
from bot.config.loading import ConfigError, parse_config
from watchers.fetching.errors import FetchError
from watchers.fetching.network import AddressRefused, EntryError, NetworkPolicy, classify, parse_ip

STRICT = NetworkPolicy()


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private (RFC 1918)"),
        ("172.16.0.1", "private (RFC 1918)"),
        ("172.31.255.254", "private (RFC 1918)"),
        ("192.168.1.1", "private (RFC 1918)"),
        ("100.64.0.1", "shared CGNAT (100.64.0.0/10)"),
        ("100.127.255.254", "shared CGNAT (100.64.0.0/10)"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "unique-local (fc00::/7)"),
        ("fd12:3456::1", "unique-local (fc00::/7)"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved (not a public address)"),
        ("255.255.255.255", "reserved (not a public address)"),
        ("192.0.2.10", "reserved (not a public address)"),
        ("2001:db8::1", "reserved (not a public address)"),
        ("fec0::1", "site-local (fec0::/10)"),
        ("64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"),
        # The cloud metadata services.
        ("169.254.169.254", "cloud metadata service"),
        ("169.254.170.2", "cloud metadata service"),
        ("100.100.100.200", "cloud metadata service"),
        ("fd00:ec2::254", "cloud metadata service"),
        # IPv4 inside IPv6: mapped, compatible, translated, NAT64, 6to4, Teredo.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "cloud metadata service"),
        ("::ffff:a9fe:a9fe", "cloud metadata service"),
        ("::127.0.0.1", "loopback"),
        ("::ffff:0:10.0.0.1", "private (RFC 1918)"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata service"),
        ("64:ff9b::192.168.0.1", "private (RFC 1918)"),
        ("2002:a9fe:a9fe::1", "cloud metadata service"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_every_class_of_private_address_is_refused(address: str, rule: str) -> None:
    found = classify(address)
    assert found is not None and found.rule == rule
    with pytest.raises(AddressRefused, match=r"allow_private in whisperer\.toml if you mean it"):
        STRICT.check_address("host.example", address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(address) is None
    STRICT.check_address("public.example", address)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0xA9FEA9FE", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("169.16689662", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("[::1]", "::1"),
        ("[fd00:ec2::254]", "fd00:ec2::254"),
        ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"),
    ],
)
def test_every_spelling_of_a_host_is_read_as_its_address(spelling: str, address: str) -> None:
    assert str(parse_ip(spelling)) == address
    with pytest.raises(AddressRefused):
        STRICT.check_host(spelling)


@pytest.mark.parametrize("name", ["example.com", "wiki.corp.example", "1.2.3.4.example", "256.1.1.1", "08.1.1.1"])
def test_names_are_not_addresses(name: str) -> None:
    assert parse_ip(name) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest/meta-data/",
        "http://0xA9FEA9FE/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./computeMetadata/v1/",
        "http://metadata/",
        "http://instance-data/latest/",
        "http://0.0.0.0:8080/",
        "http://[::]/",
        "http://127.0.0.1:9/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_check_url_refuses_before_any_lookup(url: str) -> None:
    with pytest.raises(AddressRefused, match="refused"):
        STRICT.check_url(url)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/", "javascript:alert(1)", "/relative"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(AddressRefused, match="only http and https"):
        STRICT.check_url(url)


def test_address_refused_is_a_fetch_error_naming_address_rule_and_fix() -> None:
    with pytest.raises(FetchError) as caught:
        STRICT.check_url("http://0xA9FEA9FE/latest/")
    message = str(caught.value)
    assert isinstance(caught.value, AddressRefused)
    assert "169.254.169.254" in message and "cloud metadata service" in message
    assert message.endswith("add it to [fetch] allow_private in whisperer.toml if you mean it")


def test_allow_private_unlocks_what_it_lists() -> None:
    policy = NetworkPolicy.from_entries(["127.0.0.1", "10.20.0.0/16", "wiki.corp.example", "fd12::/16"])
    policy.check_address("127.0.0.1", "127.0.0.1")
    policy.check_address("localhost", "::ffff:127.0.0.1")  # the same address in IPv6 form
    policy.check_url("http://127.0.0.1:8080/page")
    policy.check_url("http://127.1:8080/page")
    policy.check_address("intranet", "10.20.3.4")
    policy.check_address("wiki.corp.example", "192.168.7.7")  # a listed name may resolve to any private address
    policy.check_address("WIKI.corp.example.", "192.168.7.7")
    policy.check_address("x", "fd12::5")
    for host, address in [("127.0.0.2", "127.0.0.2"), ("intranet", "10.21.0.1"), ("other.corp.example", "192.168.7.7")]:
        with pytest.raises(AddressRefused, match=address.replace(".", r"\.")):
            policy.check_address(host, address)


def test_broad_entries_do_not_unlock_link_local_metadata_or_unspecified() -> None:
    broad = NetworkPolicy.from_entries(["0.0.0.0/0", "::/0", "metadata-proxy.corp.example"])
    broad.check_address("x", "10.0.0.1")  # the broad net does unlock ordinary private addresses
    for address in ("169.254.169.254", "169.254.1.1", "fe80::1", "0.0.0.0", "224.0.0.1", "fd00:ec2::254"):
        with pytest.raises(AddressRefused, match=r"does not unlock it|only listing this very address"):
            broad.check_address("x", address)
    with pytest.raises(AddressRefused, match="link-local"):  # a host name never unlocks link-local
        broad.check_address("metadata-proxy.corp.example", "169.254.1.1")
    link_local = NetworkPolicy.from_entries(["169.254.0.0/16"])
    link_local.check_address("x", "169.254.1.1")
    with pytest.raises(AddressRefused, match="cloud metadata service"):
        link_local.check_address("x", "169.254.169.254")
    with pytest.raises(AddressRefused, match="metadata service name"):
        link_local.check_url("http://metadata.google.internal/")
    exact = NetworkPolicy.from_entries(["169.254.169.254", "metadata.google.internal"])
    exact.check_address("x", "169.254.169.254")
    exact.check_host("metadata.google.internal")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("http://wiki.corp.example/", "is not a CIDR network"),
        ("10.20.1.0/16", 'did you mean "10.20.0.0/16"?'),
        ("wiki corp", "is not a host name"),
        ("10.0.0.0/33", "is not a CIDR network"),
    ],
)
def test_bad_entries_are_named(entry: str, problem: str) -> None:
    with pytest.raises(EntryError, match=problem.replace("?", r"\?")):
        NetworkPolicy.from_entries([entry])


def test_config_reads_allow_private_and_names_a_bad_entry() -> None:
    config = parse_config({"fetch": {"allow_private": ["127.0.0.1", "wiki.corp.example"], "total_timeout": 5}}, {})
    assert config.fetch.total_timeout == 5.0
    assert config.fetch.network.entries == ("wiki.corp.example", "127.0.0.1/32")
    assert parse_config({}, {}).fetch.network == NetworkPolicy()
    with pytest.raises(ConfigError, match=r"fetch\.allow_private.*has host bits set.*10\.20\.0\.0/16"):
        parse_config({"fetch": {"allow_private": ["10.20.1.0/16"]}}, {})
    with pytest.raises(ConfigError, match="total_timeout"):
        parse_config({"fetch": {"total_timeout": 0}}, {})
    with pytest.raises(ConfigError, match=r"expected a list of strings, found 10.*wiki\.corp\.example"):
        parse_config({"fetch": {"allow_private": [10]}}, {})
    with pytest.raises(ConfigError, match="expected a list"):
        parse_config({"fetch": {"allow_private": "10.0.0.0/8"}}, {})


def test_doctor_names_sources_the_policy_refuses(tmp_path: Path) -> None:
    config = tmp_path / "whisperer.toml"
    config.write_text(
        '[bot]\ndatabase = "whisperer.db"\n\n[fetch]\nallow_private = ["10.20.0.0/16"]\n\n'
        '[[sources]]\nid = "imds"\nkind = "html"\nurl = "http://0xA9FEA9FE/latest/"\n\n'
        '[[sources]]\nid = "wiki"\nkind = "html"\nurl = "http://10.20.0.5/wiki"\n',
        encoding="utf-8",
    )
    network = [c for c in run_checks(config, {}, NOW) if c.name == "network"]
    assert [(c.status, c.detail.split(":")[0]) for c in network] == [("fail", "source imds")]
    assert "169.254.169.254" in network[0].detail and "allow_private" in network[0].detail
