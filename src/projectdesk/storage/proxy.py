"""The HTTP(S) proxy a client's requests go through: a profile's own, or the environment's.

A profile's proxy (`ProxySettings`: the URL without credentials, a user, the password from the keyring)
becomes botocore's `Config(proxies=...)`, with `user:password@` put into the URL here, in memory only:
botocore sends it as `Proxy-Authorization: Basic …` (in the CONNECT of an https endpoint, or on every
forwarded request of an http one). Without a profile proxy botocore reads HTTPS_PROXY / HTTP_PROXY /
NO_PROXY (either case) itself when the client is made, for the endpoint's host.

`proxy_route` reads back what a client actually uses, so the CRT (which cannot be given a proxy from
Python, storage/crt.py) steps aside, and messages can name the proxy (storage/errors.py) without its
credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from projectdesk.core.errors import InvalidInput

PROXY_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """A proxy for every request of one client: `url` (http://host:port, no credentials) and an optional login."""

    url: str
    user: str = ""
    password: str = ""

    def __repr__(self) -> str:  # never print the password, even in a traceback's locals
        return f"ProxySettings(url={self.url!r}, user={self.user!r}, password={'***' if self.password else ''!r})"

    def botocore_proxies(self) -> dict[str, str]:
        """botocore's `proxies` for both schemes, the login in the URL (built here, kept in memory only)."""
        parts = urlsplit(check_proxy_url(self.url))
        netloc = parts.netloc
        if self.user:
            netloc = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@{netloc}"
        url = f"{parts.scheme}://{netloc}"
        return {"http": url, "https": url}


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """The proxy a client's requests go through, as messages may name it."""

    address: str  # host:port (or host), never credentials
    user: str = ""  # the user name sent to it ("" when none is sent)


def check_proxy_url(url: str) -> str:
    """`url` when it is a usable proxy URL (http(s)://host[:port]); InvalidInput otherwise.

    A URL holding an '@' is refused first, and never repeated: it may hold a password.
    """
    if "@" in url:
        raise InvalidInput(
            "Give the proxy's user name as the profile's proxy user and its password to the keyring, not in the URL."
        )
    shown = url.strip()
    try:
        parts = urlsplit(shown)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise InvalidInput(f"The proxy '{shown}' is not an http(s) URL with a valid port.") from None
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise InvalidInput(f"The proxy '{shown}' is not an http(s) URL such as http://proxy.example.com:3128.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidInput(f"The proxy '{shown}' should be only a scheme, a host and a port (http://host:3128).")
    return f"{parts.scheme}://{parts.netloc}"


def route_of(proxy_url: str) -> ProxyRoute:
    """The route a proxy URL (credentials in it or not, masked or not) names."""
    text = proxy_url if "//" in proxy_url else f"http://{proxy_url}"
    try:
        parts = urlsplit(text)
        host, port = parts.hostname or "", parts.port
        user = unquote(parts.username or "")
    except ValueError:
        return ProxyRoute(address="the configured proxy")
    host = f"[{host}]" if ":" in host else host
    return ProxyRoute(address=f"{host}:{port}" if port else host, user=user)


def proxy_route(client: Any) -> ProxyRoute | None:
    """The proxy botocore sends `client`'s requests through (None when it connects directly).

    Read from the client's HTTP session (what botocore decided when the client was made: the profile's
    proxies, else the environment's unless NO_PROXY exempts the endpoint), else from its config.
    """
    endpoint = str(getattr(client.meta, "endpoint_url", "") or "")
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    config = getattr(session, "_proxy_config", None)
    url = None
    if config is not None and hasattr(config, "proxy_url_for"):
        url = config.proxy_url_for(endpoint)
    if not url:
        proxies = getattr(client.meta.config, "proxies", None) or {}
        url = proxies.get(urlsplit(endpoint).scheme or "https")
    return route_of(str(url)) if url else None
