"""storage/s3_parsing.py: the one-pass reading of S3's XML gives exactly botocore's dict, and the quick 200 check
says "error" exactly where botocore's full parse does for the bodies S3 servers send (and for cut-short ones)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.parsers import RestXMLParser

from projectdesk.storage.s3_parsing import FastRestXMLParser, looks_like_error

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
OBJECT = (
    "<Contents><Key>{key}</Key><LastModified>2026-12-06T17:00:0{n}.000Z</LastModified>"
    "<ETag>&quot;0123456789abcdef0123456789abcde{n}&quot;</ETag><Size>{n}000</Size>"
    "<Owner><ID>owner-id</ID><DisplayName>someone</DisplayName></Owner><StorageClass>STANDARD</StorageClass>"
    "{extra}</Contents>"
)
EXTRAS = [
    "",
    "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>",
    "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>",
    "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
    "<RestoreExpiryDate>2027-01-01T00:00:00.000Z</RestoreExpiryDate></RestoreStatus>",
    "<Unmodelled>ignored by both</Unmodelled>",
]


def model(operation: str) -> Any:
    return botocore.session.get_session().get_service_model("s3").operation_model(operation).output_shape


def parse(parser_class: type[RestXMLParser], body: str, operation: str, status: int = 200) -> Any:
    response = {"status_code": status, "headers": {"x-amz-request-id": "r1"}, "body": body.encode("utf-8")}
    return parser_class().parse(response, model(operation))


LISTING = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult {NS}><Name>bench</Name>'
    "<Prefix>projects/anonymous/demo/</Prefix><KeyCount>7</KeyCount><MaxKeys>1000</MaxKeys>"
    "<Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>token+/=</NextContinuationToken>"
    + "".join(OBJECT.format(key=f"projects/anonymous/demo/a%20b{n}.py", n=n, extra=e) for n, e in enumerate(EXTRAS))
    + "<Contents><Key>projects/anonymous/demo/empty</Key><Size>0</Size><ETag/></Contents>"
    + "<CommonPrefixes><Prefix>projects/anonymous/demo/src/</Prefix></CommonPrefixes>"
    + "<CommonPrefixes><Prefix>projects/anonymous/demo/t%C3%A9st/</Prefix></CommonPrefixes>"
    + "</ListBucketResult>"
)
VERSIONS = (
    f'<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult {NS}><Name>bench</Name><Prefix>p/</Prefix>'
    "<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
    "<Version><Key>p/a.txt</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>"
    "<LastModified>2026-12-06T17:00:00.000Z</LastModified><ETag>&quot;e2&quot;</ETag><Size>3</Size>"
    "<Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass></Version>"
    "<DeleteMarker><Key>p/b.txt</Key><VersionId>v9</VersionId><IsLatest>true</IsLatest>"
    "<LastModified>2026-12-06T17:00:01.000Z</LastModified></DeleteMarker>"
    "<Version><Key>p/a.txt</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"
    "<LastModified>2026-12-06T16:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>1</Size></Version>"
    "</ListVersionsResult>"
)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("ListObjectsV2", LISTING),
        ("ListObjectsV2", f"<ListBucketResult {NS}><IsTruncated>false</IsTruncated></ListBucketResult>"),
        ("ListObjectVersions", VERSIONS),
        ("GetBucketVersioning", f"<VersioningConfiguration {NS}><Status>Enabled</Status></VersioningConfiguration>"),
        (
            "ListMultipartUploads",
            f"<ListMultipartUploadsResult {NS}><Bucket>b</Bucket><Upload><Key>k</Key><UploadId>u</UploadId>"
            "<Initiated>2026-12-06T17:00:00.000Z</Initiated></Upload><IsTruncated>false</IsTruncated>"
            "</ListMultipartUploadsResult>",
        ),
    ],
)
def test_the_fast_reading_gives_botocore_s_own_dict(operation: str, body: str) -> None:
    ours, theirs = parse(FastRestXMLParser, body, operation), parse(RestXMLParser, body, operation)
    assert ours == theirs
    assert ours != {"ResponseMetadata": theirs["ResponseMetadata"]}  # something was read


def test_a_field_sent_twice_is_left_to_botocore() -> None:
    body = f"<ListBucketResult {NS}>" + OBJECT.format(key="k", n=1, extra="<ETag>again</ETag>") + "</ListBucketResult>"
    [ours], [theirs] = (
        parse(FastRestXMLParser, body, "ListObjectsV2")["Contents"],
        parse(RestXMLParser, body, "ListObjectsV2")["Contents"],
    )
    assert (
        [e.text for e in ours["ETag"]]
        == [e.text for e in theirs["ETag"]]
        == ['"0123456789abcdef0123456789abcde1"', "again"]
    )
    assert {k: v for k, v in ours.items() if k != "ETag"} == {k: v for k, v in theirs.items() if k != "ETag"}


def test_errors_are_read_as_botocore_reads_them() -> None:
    body = "<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>"
    assert parse(FastRestXMLParser, body, "ListObjectsV2", 404) == parse(RestXMLParser, body, "ListObjectsV2", 404)


def _botocore_says_error(body: bytes) -> bool:
    from botocore.handlers import _looks_like_special_case_error  # type: ignore[attr-defined]

    return bool(_looks_like_special_case_error(200, body))


@pytest.mark.parametrize(
    "body",
    [
        LISTING.encode(),
        VERSIONS.encode(),
        b"  \n" + LISTING.encode() + b"\n\n",
        f'<?xml version="1.0"?>\n<!-- a comment -->\n<ListBucketResult {NS}></ListBucketResult>'.encode(),
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>x</Message></Error>',
        b"<Error><Code>SlowDown</Code></Error>",
        LISTING.encode()[:-40],  # cut short mid-body
        LISTING.encode()[:200],
        b"<html><body>Service Unavailable</body>",
        b"not xml at all",
        b"<CopyObjectResult><ETag>x</ETag></CopyObjectResult>",
    ],
)
def test_the_quick_200_check_agrees_with_botocore_s_full_parse(body: bytes) -> None:
    assert looks_like_error(200, body) == _botocore_says_error(body)
    assert not looks_like_error(404, body) and not looks_like_error(200, b"")
