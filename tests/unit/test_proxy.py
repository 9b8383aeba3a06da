"""A profile's proxy settings: the URL refused with credentials in it, the login put into botocore's proxies
in memory (and read back by botocore as the same Basic header), never printed."""

from __future__ import annotations

import base64

import pytest
from botocore.httpsession import ProxyConfiguration

from projectdesk.config.profiles import Profile
from projectdesk.core.errors import InvalidInput
from projectdesk.storage.proxy import ProxyRoute, ProxySettings, check_proxy_url, route_of
from projectdesk.storage.s3client import Credentials, make_client

SECRET = "s3cr3t pass:/@%"


@pytest.mark.parametrize(
    ("url", "expected"),
    [("http://proxy.corp:3128", "http://proxy.corp:3128"), (" https://10.0.0.1:8443/ ", "https://10.0.0.1:8443")],
)
def test_usable_proxy_urls(url: str, expected: str) -> None:
    assert check_proxy_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        f"http://bob:{SECRET}@proxy.corp:3128",
        f"bob:{SECRET}@proxy.corp:3128",
        f"http://bob:{SECRET}@proxy.corp:99999",
        "socks5://proxy.corp:1080",
        "proxy.corp:3128",
        "http://proxy.corp:3128/path",
        "http://:3128",
    ],
)
def test_unusable_proxy_urls_are_refused_without_repeating_a_password(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_proxy_url(url)
    assert SECRET not in caught.value.message and "s3cr3t" not in caught.value.message


def test_a_profile_checks_its_proxy() -> None:
    base = {"name": "p", "bucket": "bucket-1"}
    assert Profile(**base, proxy_url="http://proxy.corp:3128/", proxy_user="bob").validate().proxy_url == (
        "http://proxy.corp:3128"
    )
    with pytest.raises(InvalidInput):
        Profile(**base, proxy_url="http://bob:pw@proxy.corp:3128").validate()
    with pytest.raises(InvalidInput):
        Profile(**base, proxy_user="bob").validate()  # a user without a proxy
    with pytest.raises(InvalidInput):
        Profile(**base, proxy_url="http://proxy.corp:3128", proxy_user="bob:pw").validate()


def test_the_login_reaches_botocore_intact_and_is_never_printed() -> None:
    settings = ProxySettings("http://proxy.corp:3128", "bob smith", SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    proxies = settings.botocore_proxies()
    assert proxies["http"] == proxies["https"]
    config = ProxyConfiguration(proxies)
    url = config.proxy_url_for("https://s3.example.com/bucket")
    assert url is not None and url.endswith("@proxy.corp:3128")
    expected = "Basic " + base64.b64encode(f"bob smith:{SECRET}".encode()).decode()
    assert config.proxy_headers_for(url) == {"Proxy-Authorization": expected}
    assert route_of(url) == ProxyRoute("proxy.corp:3128", "bob smith")
    assert route_of("http://***:***@proxy.corp:3128") == ProxyRoute("proxy.corp:3128", "***")


def test_the_client_uses_the_profile_proxy_whatever_no_proxy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from projectdesk.storage.proxy import proxy_route

    keys = Credentials("AKIDEXAMPLE", "not-a-secret")  # no credential chain (nothing is sent by these clients)
    endpoint = "http://127.0.0.1:9"
    monkeypatch.setenv("NO_PROXY", "*")
    proxy = ProxySettings("http://127.0.0.2:3128", "bob", SECRET)
    client = make_client(endpoint_url=endpoint, region="us-east-1", credentials=keys, proxy=proxy)
    assert proxy_route(client) == ProxyRoute("127.0.0.2:3128", "bob")
    assert proxy_route(make_client(endpoint_url=endpoint, region="us-east-1", credentials=keys)) is None
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.3:8080")
    monkeypatch.setenv("NO_PROXY", "example.org")
    env_client = make_client(endpoint_url=endpoint, region="us-east-1", credentials=keys)
    assert proxy_route(env_client) == ProxyRoute("127.0.0.3:8080")
