"""Which callback URLs efir may POST to: no server-side fetch of arbitrary URLs.

A callback's host must be on the allow-list (EFIR_WEBHOOK_ALLOWED_HOSTS): an entry names a
host exactly (``cms.example.org``, ``10.0.0.5``, ``[fd00::5]:8443``; without a port, any
port) or every subdomain of a domain (``*.example.org``). A host the operator named
exactly may be internal; one admitted by a wildcard alone must resolve to public
addresses only — not loopback, private, link-local (169.254.169.254, the cloud metadata
service), shared, reserved or multicast ones. ``admit_callback_url`` runs at upload and
again before every attempt, and returns the address checked, which the delivery connects
to, so a DNS answer changed in between (rebinding) cannot redirect the POST.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from efir.errors import EfirError

__all__ = [
    "AllowedHost",
    "CallbackTarget",
    "CallbackUnresolvedError",
    "CallbackUrlError",
    "Resolver",
    "admit_callback_url",
    "is_public_address",
    "parse_allowed_hosts",
    "resolve_host",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_CHARS = 2000
# IPv6 forms that carry an IPv4 address in their last 32 bits: NAT64's well-known prefix
# and the deprecated IPv4-compatible ::a.b.c.d (::a9fe:a9fe is 169.254.169.254).
_EMBEDDED_IPV4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
# The only IPv6 addresses routed on the Internet; local-use NAT64 (64:ff9b:1::/48),
# site-local fec0::/10, unique-local fc00::/7 and the rest lie outside it.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")

Resolver = Callable[[str, int], list[str]]


class CallbackUrlError(EfirError):
    """A callback URL efir will not call: webhooks off, a malformed URL, a host not allowed."""


class CallbackUnresolvedError(CallbackUrlError):
    """The callback's host does not resolve now (at delivery time: worth retrying)."""


@dataclass(frozen=True)
class AllowedHost:
    """One allow-list entry: ASCII (IDNA) lower-case host, port None for any."""

    host: str
    port: int | None
    subdomains: bool  # written *.host: every subdomain of host, never host itself


@dataclass(frozen=True)
class CallbackTarget:
    """An admitted callback URL and the checked address to connect to."""

    url: httpx.URL
    address: str


def parse_allowed_hosts(raw: str) -> list[AllowedHost]:
    """EFIR_WEBHOOK_ALLOWED_HOSTS entries; a malformed one raises CallbackUrlError."""
    return [_allowed_host(entry) for entry in (part.strip() for part in raw.split(",")) if entry]


def resolve_host(host: str, port: int) -> list[str]:
    """The host's addresses as the operating system resolves them (an IP literal: itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """Globally routable unicast; IPv4 inside IPv6 (mapped, compatible, 6to4, NAT64)
    judged as that IPv4 address, any other IPv6 only inside 2000::/3."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _EMBEDDED_IPV4):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        else:
            ip = ip.ipv4_mapped or ip.sixtofour or ip
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return False
    return ip.is_global and not ip.is_multicast


def admit_callback_url(
    raw: str, allowed_hosts: str, *, resolve: Resolver = resolve_host
) -> CallbackTarget:
    """Check a callback URL against the allow-list and the address rules (see the module
    docstring); raises CallbackUrlError with a message for the user."""
    allowed = parse_allowed_hosts(allowed_hosts)
    if not allowed:
        raise CallbackUrlError(
            "Вебхуки выключены: список EFIR_WEBHOOK_ALLOWED_HOSTS пуст. "
            "Webhooks are disabled: EFIR_WEBHOOK_ALLOWED_HOSTS is empty."
        )
    url = _parse_url(raw)
    host = url.raw_host.decode("ascii").lower()
    port = url.port or _DEFAULT_PORTS[url.scheme]
    entries = [entry for entry in allowed if entry.port in (None, port) and _covers(entry, host)]
    if not entries:
        raise CallbackUrlError(
            f"Хост {host}:{port} не входит в EFIR_WEBHOOK_ALLOWED_HOSTS. "
            f"Host {host}:{port} is not on the webhook allow-list."
        )
    try:
        addresses = _addresses(host, port, resolve)
    except OSError as error:
        raise CallbackUnresolvedError(
            f"Не удалось найти адрес хоста {host}. Host {host} does not resolve: {error}"
        ) from None
    named_exactly = any(not entry.subdomains for entry in entries)
    blocked = [address for address in addresses if not is_public_address(address)]
    if blocked and not named_exactly:
        raise CallbackUrlError(
            f"Хост {host} указывает на внутренний адрес {blocked[0]}; такой хост нужно "
            f"внести в EFIR_WEBHOOK_ALLOWED_HOSTS явно. Host {host} resolves to the "
            f"non-public address {blocked[0]}; only a host named exactly on the allow-list may."
        )
    return CallbackTarget(url, addresses[0])


def _addresses(host: str, port: int, resolve: Resolver) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal is its own answer
    except ValueError:
        return resolve(host, port)


def _parse_url(raw: str) -> httpx.URL:
    text = raw.strip()
    try:
        url = httpx.URL(text) if len(text) <= MAX_URL_CHARS else None
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in _DEFAULT_PORTS or not url.raw_host:
        raise CallbackUrlError(
            "Адрес вебхука должен быть URL http:// или https:// (до 2000 символов). "
            "The callback must be an http:// or https:// URL (up to 2000 characters)."
        )
    if url.userinfo:
        raise CallbackUrlError(
            "Адрес вебхука не должен содержать имя и пароль. "
            "The callback URL must not carry a user name or password."
        )
    return url


def _allowed_host(entry: str) -> AllowedHost:
    try:
        url = httpx.URL(f"http://{entry.removeprefix('*.')}")
        if url.raw_host and not url.userinfo and url.raw_path == b"/":
            host = url.raw_host.decode("ascii").lower()
            return AllowedHost(host, url.port, subdomains=entry.startswith("*."))
    except httpx.InvalidURL:
        pass
    raise CallbackUrlError(
        f"Ошибка настройки EFIR_WEBHOOK_ALLOWED_HOSTS: {entry!r} — не хост и не хост:порт. "
        f"EFIR_WEBHOOK_ALLOWED_HOSTS is misconfigured: {entry!r} is not host or host:port."
    )


def _covers(entry: AllowedHost, host: str) -> bool:
    return host.endswith(f".{entry.host}") if entry.subdomains else host == entry.host
