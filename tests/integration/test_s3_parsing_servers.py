"""The client ProjectDesk makes (storage/s3_parsing.py's parser and 200 check) reads real servers' listings exactly
as a plain botocore client does: moto and SeaweedFS, odd key names, several pages, versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from projectdesk.storage.s3client import Credentials, make_client
from tests.servers.seaweedfs import SeaweedServer

KEYS = ["a b.txt", "t+é/x.py", "100%.md", "deep/er/still/f.txt", "x/<y>&'\".txt", "tab\there.txt", "z" * 200]


@pytest.fixture(params=["moto", "seaweedfs"])
def clients(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, str]]:
    bucket = f"parse-{request.param}"
    if request.param == "moto":
        request.getfixturevalue("moto_env")
        endpoint, region, creds = None, "us-east-1", Credentials("testing", "testing")
    else:
        server: SeaweedServer = request.getfixturevalue("seaweed")
        endpoint, region = server.endpoint_url, server.region
        creds = Credentials(server.access_key, server.secret_key)
    ours = make_client(endpoint_url=endpoint, region=region, credentials=creds, path_style=endpoint is not None)
    plain = botocore.session.Session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(s3={"addressing_style": "path" if endpoint else "auto"}),
    )
    if request.param == "moto":
        ours.create_bucket(Bucket=bucket)
    else:
        request.getfixturevalue("seaweed").create_bucket(bucket)
    for n, key in enumerate(KEYS):
        ours.put_object(Bucket=bucket, Key=f"p/{key}", Body=b"x" * n)
    yield ours, plain, bucket


def _without_metadata(page: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in page.items() if k != "ResponseMetadata"}


def test_listings_read_as_botocore_reads_them(clients: tuple[Any, Any, str]) -> None:
    ours, plain, bucket = clients
    for args in ({"Prefix": "p/", "MaxKeys": 3}, {"Prefix": "p/", "Delimiter": "/"}, {"Prefix": "nothing/"}):
        token: dict[str, str] = {}
        pages = 0
        while True:
            mine = ours.list_objects_v2(Bucket=bucket, **args, **token)
            theirs = plain.list_objects_v2(Bucket=bucket, **args, **token)
            assert _without_metadata(mine) == _without_metadata(theirs)
            pages += 1
            if not mine.get("IsTruncated"):
                break
            token = {"ContinuationToken": mine["NextContinuationToken"]}
        assert pages == (3 if args.get("MaxKeys") == 3 else 1)
    listed = ours.list_objects_v2(Bucket=bucket, Prefix="p/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"p/{k}" for k in KEYS)
    assert {o["Key"]: o["Size"] for o in listed} == {f"p/{k}": n for n, k in enumerate(KEYS)}
