"""Turns a profile into a working repository and service (credentials resolved here, never stored)."""

from __future__ import annotations

from projectdesk.config.paths import Paths
from projectdesk.config.profiles import KIND_LOCAL, Profile
from projectdesk.services.projects import ProjectService
from projectdesk.storage.local import LocalRepository
from projectdesk.storage.repository import Repository
from projectdesk.storage.s3client import Credentials


def open_repository(profile: Profile, paths: Paths, *, credentials: Credentials | None = None) -> Repository:
    """The repository a profile describes. S3 profiles use `credentials` when given, else the profile's
    credential source: `aws-profile` (a profile of ~/.aws) or `env` (boto3's default chain)."""
    if profile.kind == KIND_LOCAL:
        return LocalRepository(paths.local_store, user_id=profile.user_id)
    from projectdesk.storage.s3 import S3Repository
    from projectdesk.storage.s3client import make_client

    client = make_client(
        endpoint_url=profile.endpoint_url or None,
        region=profile.region or None,
        credentials=credentials,
        aws_profile=profile.aws_profile if profile.credential_source == "aws-profile" and not credentials else None,
        path_style=profile.path_style,
    )
    return S3Repository(client, profile.bucket, user_id=profile.user_id, endpoint=profile.endpoint_label)


def open_service(profile: Profile, paths: Paths, *, credentials: Credentials | None = None) -> ProjectService:
    return ProjectService(
        open_repository(profile, paths, credentials=credentials),
        limits=profile.limits,
        ignore_patterns=profile.ignore_patterns,
    )
