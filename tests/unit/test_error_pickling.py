"""Errors cross the transfer process's pipe (services/transfer_worker.py) as their own types, with their sentence,
title and attributes: every ProjectDeskError subclass, also one whose __init__ takes other arguments."""

from __future__ import annotations

import importlib
import inspect
import pickle

import pytest

from projectdesk.core import errors
from projectdesk.core.errors import ProjectDeskError
from projectdesk.services.transfer_worker import dumps, loads

# Modules defining ProjectDeskError subclasses a transfer can raise besides core/errors.py.
MODULES = [
    "projectdesk.core.errors",
    "projectdesk.storage.errors",
    "projectdesk.cache.index",
    "projectdesk.services.offline",
    "projectdesk.services.transfer_worker",
]


def core_error_classes() -> list[type[ProjectDeskError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, ProjectDeskError) and cls.__module__ == errors.__name__
    ]


def all_error_classes() -> list[type[ProjectDeskError]]:
    found: dict[str, type[ProjectDeskError]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ProjectDeskError):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def example(cls: type[ProjectDeskError]) -> ProjectDeskError:
    if cls.__name__ == "ConflictedCopy":
        from projectdesk.cache.index import ConflictRecord

        fields = inspect.signature(ConflictRecord).parameters
        values = {"id": 7, "slug": "app", "path": "src/a.py", "copy_path": "src/a (conflicted copy).py",
                  "kind": "edit", "remote_etag": '"e1"', "created": 1.5}  # fmt: skip
        record = ConflictRecord(**{k: values.get(k, "x") for k in fields})
        return cls(record)  # type: ignore[call-arg]
    if cls.__name__ == "SignInRequired":
        return cls("Sign in again.", "work")  # type: ignore[call-arg]
    return cls(f"A sentence for {cls.__name__}.")


def same(a: ProjectDeskError, b: ProjectDeskError) -> None:
    assert type(b) is type(a)
    assert (b.message, b.title, str(b), b.args) == (a.message, a.title, str(a), a.args)
    assert {k: v for k, v in vars(b).items()} == {k: v for k, v in vars(a).items()}


def test_the_lists_are_not_empty() -> None:
    names = {cls.__name__ for cls in all_error_classes()}
    assert {"Cancelled", "Offline", "NotFound", "SignInRequired", "ConflictedCopy", "DiskFull",
            "TransferProcessStopped"} <= names  # fmt: skip
    assert len(core_error_classes()) >= 15


@pytest.mark.parametrize("cls", core_error_classes(), ids=lambda c: c.__name__)
def test_every_core_error_pickles_with_plain_pickle(cls: type[ProjectDeskError]) -> None:
    error = example(cls)
    same(error, pickle.loads(pickle.dumps(error)))


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__qualname__)
def test_every_error_crosses_the_pipe_as_its_own_type(cls: type[ProjectDeskError]) -> None:
    error = example(cls)
    same(error, loads(dumps(("error", 1, error, 123)))[2])


def test_a_custom_init_that_plain_pickle_cannot_rebuild_crosses_the_pipe() -> None:
    from projectdesk.services.offline import ConflictedCopy

    error = example(ConflictedCopy)
    with pytest.raises(AttributeError):  # pickle calls ConflictedCopy(message): there is no record
        pickle.loads(pickle.dumps(error))
    copy = loads(dumps(error))
    same(error, copy)
    assert copy.record == error.record  # type: ignore[attr-defined]


def test_errors_inside_a_result_cross_too() -> None:
    from projectdesk.core.threeway import Direction
    from projectdesk.services.folder_sync import FolderReport
    from projectdesk.services.offline import ConflictedCopy

    report = FolderReport("app", "App", Direction.PUSH)
    report.failed.append(("a.txt", example(ConflictedCopy)))
    report.failed.append(("b.txt", errors.Offline("The server did not answer.")))
    copy = loads(dumps(report))
    assert [(p, type(e), e.message) for p, e in copy.failed] == [(p, type(e), e.message) for p, e in report.failed]
