"""Checks that a profile's store answers, and names what is wrong in one plain sentence when it does not.

Steps for an S3 profile, each stopping at the first problem: resolve the credentials (keyring, ~/.aws
profile or default chain); list the user's prefix `projects/{user_id}/` (a GET, so the server's error
code tells a wrong access key from a wrong secret, a missing bucket from a denied one); optionally create
a missing bucket; compare the bucket's region (HeadBucket's x-amz-bucket-region) with the profile's; and,
when asked, write and delete a small probe object under the prefix to tell read-only keys apart.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, Profile
from projectdesk.config.secrets import SecretStore
from projectdesk.core import keys
from projectdesk.core.errors import AccessDenied, AuthError, BucketMissing, KeyringUnavailable, ProjectDeskError
from projectdesk.services.connect import check_aws_profile, make_profile_client, resolve_credentials
from projectdesk.storage.errors import Failure, bucket_region, classify, translate, wrong_region
from projectdesk.storage.proxy import proxy_route
from projectdesk.storage.s3client import Credentials

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

PROBE_NAME = ".projectdesk-probe-"
PROBE_BODY = b"ProjectDesk connection test: safe to delete.\n"
# A connection test should answer within seconds: one retry, short timeouts.
CLIENT_OPTIONS: dict[str, Any] = {"max_attempts": 2, "connect_timeout": 5.0, "read_timeout": 20.0}


@dataclass(frozen=True)
class ConnectionReport:
    """The outcome of one connection test.

    Attributes:
        ok: the store is usable as tested.
        message: one plain sentence for a person (never a secret).
        problem: what failed (None when ok).
        error: the typed error behind a failure, e.g. KeyringLocked, so a window can offer the fix.
        projects: projects found under the user's prefix (None if listing failed).
        writable: True/False after a write test, None when writing was not tested.
        bucket_region: the bucket's region as the server states it ('' when it does not say).
        bucket_created: this test created the bucket.
        versioning: what the bucket says of versioning ("Enabled", "Suspended", "" never enabled; None when it
            could not be asked, "unsupported" for the local store): whether file history works.
    """

    ok: bool
    message: str
    problem: Failure | None = None
    error: ProjectDeskError | None = None
    projects: int | None = None
    writable: bool | None = None
    bucket_region: str = ""
    bucket_created: bool = False
    versioning: str | None = None

    @property
    def history_note(self) -> str:
        """One sentence on file history (whether the bucket keeps old versions), "" when unknown."""
        if self.versioning == "Enabled":
            return "The bucket keeps old versions of files: file history and restore work."
        if self.versioning == "Suspended":
            return "Versioning is suspended on the bucket: history can be read, restores are refused."
        if self.versioning == "":
            return ("The bucket keeps no old versions of files (versioning is off): "
                    "'projectdesk-cli profiles versioning NAME --enable' turns file history on.")  # fmt: skip
        if self.versioning == "unsupported":
            return "The local store keeps no old versions of files."
        return ""

    @property
    def can_create_bucket(self) -> bool:
        return self.problem is Failure.BUCKET_MISSING

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "problem": str(self.problem) if self.problem else None,
            "projects": self.projects,
            "writable": self.writable,
            "bucket_region": self.bucket_region or None,
            "bucket_created": self.bucket_created,
            "can_create_bucket": self.can_create_bucket,
            "versioning": self.versioning,
        }


def _failed(problem: Failure, error: ProjectDeskError, **extra: Any) -> ConnectionReport:
    return ConnectionReport(ok=False, message=error.message, problem=problem, error=error, **extra)


def test_connection(
    profile: Profile,
    paths: Paths,
    credentials: Credentials | None = None,
    *,
    secrets: SecretStore | None = None,
    write: bool = False,
    create_bucket: bool = False,
    proxy_password: str | None = None,
) -> ConnectionReport:
    """Test a profile: `credentials` override its source (and `proxy_password` the keyring's password of
    its proxy user); `write` adds a write+delete probe; `create_bucket` creates a missing bucket (in the
    profile's region)."""
    if profile.kind == KIND_LOCAL:
        return _test_local(profile, paths)
    try:
        if credentials is None:
            credentials = resolve_credentials(profile, secrets)
    except (KeyringUnavailable, AuthError) as exc:
        return _failed(Failure.NO_CREDENTIALS, exc)
    try:
        check_aws_profile(profile)
        client = make_profile_client(
            profile, credentials=credentials, secrets=secrets, proxy_password=proxy_password, **CLIENT_OPTIONS
        )
    except ProjectDeskError as exc:
        return _failed(Failure.AWS_PROFILE if profile.credential_source == "aws-profile" else Failure.OTHER, exc)
    return _S3Test(profile, client).run(write=write, create_bucket=create_bucket)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def _test_local(profile: Profile, paths: Paths) -> ConnectionReport:
    from projectdesk.storage.local import LocalRepository

    root = paths.local_store
    try:
        count = len(LocalRepository(root, user_id=profile.user_id).list_slugs())
    except ProjectDeskError as exc:
        return _failed(Failure.OTHER, exc)
    except OSError as exc:
        return ConnectionReport(ok=False, message=f"The local store at {root} cannot be read ({exc.strerror}).")
    writable = os.access(root, os.W_OK) if root.exists() else os.access(_existing_parent(root), os.W_OK)
    return ConnectionReport(
        ok=True,
        message=f"The local store at {root} works: {count} project(s).",
        projects=count,
        writable=writable,
        versioning="unsupported",
    )


def _existing_parent(path: os.PathLike[str]) -> str:
    current = os.fspath(path)
    while current and not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


class _S3Test:
    def __init__(self, profile: Profile, client: S3Client) -> None:
        self.profile = profile
        self.client = client
        self.bucket = profile.bucket
        self.endpoint = profile.endpoint_label
        self.prefix = keys.user_prefix(profile.user_id)
        self.where = f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"

    def _translate(self, exc: Exception) -> ProjectDeskError:
        return translate(exc, bucket=self.bucket, endpoint=self.endpoint, proxy=proxy_route(self.client))

    def _failure(self, exc: Exception, **extra: Any) -> ConnectionReport:
        log.debug("connection test of profile %r failed: %s", self.profile.name, type(exc).__name__)
        return _failed(classify(exc), self._translate(exc), bucket_region=bucket_region(exc), **extra)

    def _count_projects(self) -> int:
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/", MaxKeys=1000)
        return len(page.get("CommonPrefixes", []))

    def run(self, *, write: bool, create_bucket: bool) -> ConnectionReport:
        created = False
        try:
            projects = self._count_projects()
        except Exception as exc:
            if classify(exc) is not Failure.BUCKET_MISSING or not create_bucket:
                return self._failure(exc)
            try:
                self._create_bucket()
                created = True
                projects = self._count_projects()
            except Exception as create_exc:
                if classify(create_exc) is Failure.ACCESS_DENIED:
                    return _failed(
                        Failure.ACCESS_DENIED,
                        BucketMissing(
                            f"The bucket '{self.bucket}' does not exist at {self.endpoint}, "
                            "and this key may not create it."
                        ),
                    )
                return self._failure(create_exc)
        region = self._bucket_region()
        if region and self.profile.region and region != self.profile.region:
            error = wrong_region(self.bucket, region)
            return _failed(Failure.WRONG_REGION, error, projects=projects, bucket_region=region, bucket_created=created)
        writable: bool | None = None
        if write:
            problem = self._probe_write()
            if problem is not None:
                return ConnectionReport(
                    ok=False,
                    message=problem.message,
                    problem=Failure.ACCESS_DENIED,
                    error=problem,
                    projects=projects,
                    writable=False,
                    bucket_region=region,
                    bucket_created=created,
                )
            writable = True
        made = f"Created the bucket '{self.bucket}'; c" if created else "C"
        tail = "reading and writing work" if writable else "listing works (writing was not tested)"
        return ConnectionReport(
            ok=True,
            message=f"{made}onnected to {self.where}: {projects} project(s) for user '{self.profile.user_id}'; {tail}.",
            projects=projects,
            writable=writable,
            bucket_region=region,
            bucket_created=created,
            versioning=self._versioning(),
        )

    def _versioning(self) -> str | None:
        """GetBucketVersioning's status ("" never enabled); None when the key may not ask (informational)."""
        try:
            answer = self.client.get_bucket_versioning(Bucket=self.bucket)
        except Exception as exc:
            log.debug("could not ask whether bucket %r keeps versions: %s", self.bucket, type(exc).__name__)
            return None
        return str(answer.get("Status", ""))

    def _create_bucket(self) -> None:
        region = self.profile.region
        if region and region != "us-east-1":
            self.client.create_bucket(
                Bucket=self.bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
        else:
            self.client.create_bucket(Bucket=self.bucket)
        log.info("created bucket %r at %s", self.bucket, self.endpoint)

    def _bucket_region(self) -> str:
        """The region the server reports for the bucket ('' when it reports none, as SeaweedFS)."""
        try:
            head = self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # listing worked, so this is informational only
            return bucket_region(exc)
        headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
        return str(headers.get("x-amz-bucket-region", ""))

    def _probe_write(self) -> ProjectDeskError | None:
        """Write then delete a small object under the user's prefix; the problem, or None if both work."""
        key = f"{self.prefix}{PROBE_NAME}{uuid.uuid4().hex[:16]}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=PROBE_BODY, ContentType="text/plain")
        except Exception as exc:
            if classify(exc) is Failure.ACCESS_DENIED:
                return AccessDenied(
                    f"The key can list {self.where} but may not write there: it is read-only for this prefix."
                )
            return self._translate(exc)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if classify(exc) is Failure.ACCESS_DENIED:
                return AccessDenied(
                    f"The key can write to {self.where} but may not delete: the probe object '{key}' was left there."
                )
            return self._translate(exc)
        return None
