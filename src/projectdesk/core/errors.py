"""Typed, user-facing errors: every failure a person may see is one of these, with a message they can act on.

No message ever carries a secret: the translation from SDK errors (storage/errors.py) only copies
error codes and the names of buckets, keys and endpoints.
"""

from __future__ import annotations


class ProjectDeskError(Exception):
    """Base of every error ProjectDesk reports to a person."""

    title = "Something went wrong"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(ProjectDeskError):
    title = "Not found"


class Conflict(ProjectDeskError):
    """The remote object changed since we last saw it; nothing was overwritten."""

    title = "Changed elsewhere"


class AuthError(ProjectDeskError):
    title = "Sign-in failed"


class AccessDenied(AuthError):
    title = "Access denied"


class BucketMissing(ProjectDeskError):
    title = "Bucket missing"


class Offline(ProjectDeskError):
    title = "Offline"


class LimitExceeded(ProjectDeskError):
    title = "Too large"


class InvalidKey(ProjectDeskError):
    title = "Unsafe file name"


class InvalidInput(ProjectDeskError):
    title = "Invalid input"


class StorageError(ProjectDeskError):
    """A storage failure that is none of the specific kinds above."""

    title = "Storage error"


class Cancelled(ProjectDeskError):
    title = "Cancelled"


class KeyringUnavailable(ProjectDeskError):
    """No usable OS keyring (none installed, or it refused): offer session-only credentials instead."""

    title = "No keyring"


class KeyringLocked(KeyringUnavailable):
    title = "Keyring locked"


class NoHistory(ProjectDeskError):
    """The store keeps no old versions of files (a bucket without versioning, the local folder store)."""

    title = "No file history"


class SignInRequired(AuthError):
    """An AWS SSO (IAM Identity Center) sign-in is missing or expired: signing in again fixes it (the window
    offers Sign in with AWS SSO…, the CLI `profiles login NAME`). `aws_profile` names the ~/.aws profile
    when known ("" otherwise)."""

    title = "Sign-in needed"

    def __init__(self, message: str, aws_profile: str = "") -> None:
        super().__init__(message)
        self.aws_profile = aws_profile
