"""Where the watcher may connect: public addresses, plus what `[fetch] allow_private` lists.

Every request the watcher makes (each source, each redirect hop, each request a browser page makes) is checked
here, so a page cannot aim the watcher at the cloud's metadata service, the host itself or the intranet.
Everything but `NetworkPolicy.resolve`/`check_url` (which ask DNS) is pure.

The unlocking rule, exactly:
- loopback, RFC 1918, CGNAT, unique-local and reserved addresses are allowed by any entry that covers them
  (a host name, an address, or a network containing the address);
- link-local, multicast and unspecified addresses only by an address or network entry lying inside that range
  (`169.254.0.0/16` unlocks link-local; `0.0.0.0/0` or `::/0` does not), never by a host name;
- cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200, …) only by the single address
  itself, and metadata names (`metadata.google.internal`, …) only by the name itself.
An address inside an IPv6 form (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) is judged as that IPv4.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from watchers.fetching.errors import FetchError
from watchers.patterns import lazy_pattern

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
FIX = "add it to [fetch] allow_private in whisperer.toml if you mean it"


class AddressRefused(FetchError):
    """The policy refused a URL or an address; raised before any connection is made."""


# Instance metadata services hand out the machine's own cloud credentials.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, Huawei Cloud, OpenStack, Oracle, DigitalOcean, …
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)

ANY, RANGE, EXACT = "any entry covering it", "an entry inside that range", "the address itself"


@dataclass(frozen=True)
class _Rule:
    name: str
    networks: tuple[Network, ...]
    unlock: str  # ANY or RANGE


def _nets(*texts: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


_RULES = (
    _Rule("unspecified", _nets("0.0.0.0/8", "::/128"), RANGE),
    _Rule("loopback", _nets("127.0.0.0/8", "::1/128"), ANY),
    _Rule("link-local", _nets("169.254.0.0/16", "fe80::/10"), RANGE),
    _Rule("private (RFC 1918)", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), ANY),
    _Rule("shared CGNAT (100.64.0.0/10)", _nets("100.64.0.0/10"), ANY),
    _Rule("unique-local (fc00::/7)", _nets("fc00::/7"), ANY),
    _Rule("multicast", _nets("224.0.0.0/4", "ff00::/8"), RANGE),
    _Rule("site-local (fec0::/10)", _nets("fec0::/10"), ANY),
    _Rule("local-use NAT64 (64:ff9b:1::/48)", _nets("64:ff9b:1::/48"), ANY),
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


@dataclass(frozen=True)
class Refusal:
    """Why an address is not public: the rule, and what kind of allow_private entry unlocks it."""

    address: IPAddress  # as judged: the IPv4 address inside an IPv6 form
    rule: str
    unlock: str  # ANY, RANGE or EXACT
    ranges: tuple[Network, ...] = ()


def embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, compatible, translated, NAT64, 6to4, Teredo), else ip."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return ip


@lru_cache(maxsize=4096)
def classify(ip_text: str) -> Refusal | None:
    """Pure: None for a public address, else the rule that refuses it. Raises ValueError if not an address."""
    ip = embedded_ipv4(ipaddress.ip_address(ip_text.split("%", 1)[0]))
    if ip in METADATA_ADDRESSES:
        return Refusal(ip, "cloud metadata service", EXACT)
    for rule in _RULES:
        if any(ip in net for net in rule.networks):
            return Refusal(ip, rule.name, rule.unlock, rule.networks)
    if not ip.is_global:  # documentation, benchmarking, 240/4, broadcast, protocol assignments, …
        return Refusal(ip, "reserved (not a public address)", ANY)
    return None


_DIGITS = {10: set("0123456789"), 8: set("01234567"), 16: set("0123456789abcdef")}


def _ipv4_part(text: str) -> int | None:
    if text.startswith("0x"):
        digits, base = text[2:], 16
        if not digits:
            return 0
    elif len(text) > 1 and text.startswith("0"):
        digits, base = text[1:], 8
    else:
        digits, base = text, 10
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def _parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Every spelling inet_aton and browsers accept: 127.1, 2852039166, 0xA9FEA9FE, 0251.0376.0251.0376, …"""
    parts = text.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4 or "" in parts:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        return None
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(head))
    return ipaddress.IPv4Address(value)


@lru_cache(maxsize=4096)
def parse_ip(host: str) -> IPAddress | None:
    """Pure: the address a URL host spells (bracketed IPv6 and numeric IPv4 forms), or None for a name."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    return _parse_ipv4(text)


@lru_cache(maxsize=4096)
def _ip_text(host: str) -> str | None:
    ip = parse_ip(host)
    return None if ip is None else str(ip)


def normal_host(host: str) -> str:
    return host.strip().lower().removesuffix(".").removeprefix("[").removesuffix("]")


_HOST_NAME = lazy_pattern(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")


class EntryError(ValueError):
    """A bad allow_private entry: `problem` names it, `fix` says what to write."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


def _network_entry(entry: str, text: str) -> Network:
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            wide = ipaddress.ip_network(text, strict=False)
            raise EntryError(f"{entry!r} has host bits set", f'did you mean "{wide}"?') from None
        raise EntryError(
            f"{entry!r} is not a CIDR network", 'write a network such as "10.20.0.0/16" (no "http://", no path)'
        ) from None


@dataclass(frozen=True)
class NetworkPolicy:
    """Public addresses only, plus the host names and networks of `[fetch] allow_private`."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    # Decisions already made, by (host, address): the same few hosts are checked on every request.
    _decided: dict[tuple[str, str], Refusal | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    _hosts_ok: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> NetworkPolicy:
        """Build from allow_private entries; raise EntryError naming a bad entry and the fix."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            text = entry.strip().lower()
            if "/" in text:
                networks.append(_network_entry(entry, text))
                continue
            ip = parse_ip(text)
            if ip is not None:
                networks.append(ipaddress.ip_network(embedded_ipv4(ip)))
            elif _HOST_NAME().match(normal_host(text)):
                hosts.add(normal_host(text))
            else:
                raise EntryError(
                    f"{entry!r} is not a host name, an IP address or a CIDR network",
                    'write e.g. "wiki.corp.example", "10.20.0.5" or "10.20.0.0/16"',
                )
        return cls(frozenset(hosts), tuple(networks))

    @property
    def entries(self) -> tuple[str, ...]:
        return (*sorted(self.hosts), *(str(n) for n in self.networks))

    def refusal(self, host: str, ip_text: str) -> Refusal | None:
        """Pure: why connecting to ip_text (reached as host) is refused, or None if it is allowed."""
        key = (host, ip_text)
        if key in self._decided:
            return self._decided[key]
        decided = self._refusal(host, ip_text)
        if len(self._decided) > 4096:
            self._decided.clear()
        self._decided[key] = decided
        return decided

    def _refusal(self, host: str, ip_text: str) -> Refusal | None:
        found = classify(ip_text)
        if found is None:
            return None
        address = found.address
        covering = [n for n in self.networks if n.version == address.version and address in n]
        if found.unlock == EXACT:
            allowed = any(n.num_addresses == 1 for n in covering)
        elif found.unlock == RANGE:
            allowed = any(n.subnet_of(r) for n in covering for r in found.ranges if r.version == n.version)  # type: ignore[arg-type]
        else:
            allowed = bool(covering) or normal_host(host) in self.hosts
        return None if allowed else found

    def check_address(self, host: str, ip: str) -> None:
        """Raise AddressRefused unless the watcher may connect to `ip`, which `host` resolved to."""
        try:
            found = self.refusal(host, ip)
        except ValueError:
            raise AddressRefused(f"refused {ip!r} for {host}: not an IP address") from None
        if found is None:
            return
        shown = ip.split("%", 1)[0]
        via = "" if normal_host(host) == normal_host(shown) else f" ({host})"
        judged = "" if str(found.address) == shown else f", which is {found.address}"
        only = {
            ANY: "",
            RANGE: " (a wider network does not unlock it; an entry inside its range does)",
            EXACT: " (only listing this very address unlocks it)",
        }
        raise AddressRefused(
            f"refused to connect to {shown}{via}{judged}: a {found.rule} address{only[found.unlock]}; {FIX}"
        )

    def check_host(self, host: str) -> None:
        """Pure: refuse what the URL's host alone betrays (metadata names, any spelling of a refused address)."""
        if host in self._hosts_ok:
            return
        name = normal_host(host)
        if not name:
            raise AddressRefused("refused a URL without a host; write the full address, https:// included")
        ip = _ip_text(host)
        if ip is not None:
            self.check_address(host, ip)
        elif name in METADATA_NAMES and name not in self.hosts:
            raise AddressRefused(
                f"refused to connect to {name}: a cloud metadata service name; only the name itself unlocks it; {FIX}"
            )
        if len(self._hosts_ok) > 4096:
            self._hosts_ok.clear()
        self._hosts_ok.add(host)

    def check_target(self, url: str) -> tuple[str, int]:
        """Pure: scheme and host checks for a URL; returns (host, port) to resolve."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise AddressRefused(f"refused {url!r}: not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            what = f"{scheme}:" if scheme else "a URL without a scheme"
            raise AddressRefused(f"refused {url!r}: only http and https URLs are fetched, not {what}")
        host = parts.hostname or ""
        self.check_host(host)
        return host, port or (443 if scheme == "https" else 80)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host, every one of them checked; raises socket.gaierror from DNS."""
        self.check_host(host)
        literal = _ip_text(host)
        if literal is not None:
            return [literal]
        infos = socket.getaddrinfo(normal_host(host), port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for ip in addresses:  # one refused address refuses the name: a rebinding name mixes both kinds
            self.check_address(host, ip)
        return addresses

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A socket to the first of the host's checked addresses that answers: resolved once, so a DNS answer
        cannot change between the check and the connect (rebinding). Raises AddressRefused, socket.gaierror from
        DNS, TimeoutError when connecting timed out, or the last address's OSError."""
        failure: OSError | None = None
        for address in self.resolve(host, port):
            try:
                return socket.create_connection((address, port), timeout)
            except TimeoutError:
                raise
            except OSError as exc:
                failure = exc
        raise failure or OSError(f"no address to connect to for {host}")

    def check_url(self, url: str) -> None:
        """Raise AddressRefused unless url is http(s) and every address its host resolves to is allowed.

        A name that does not resolve raises FetchError (not AddressRefused).
        """
        host, port = self.check_target(url)
        try:
            self.resolve(host, port)
        except socket.gaierror as exc:
            reason = exc.strerror or str(exc)
            raise FetchError(f"could not resolve {host} ({reason}); check the URL and the network") from None
