"""kill -9 during `projectdesk-cli push`, `pull` and `sync`, then the same command again, on the real SeaweedFS.

A handful of kills per command (the campaign with 30 each is `scripts/kill-campaign`, benchmarks/kill_campaign.py,
whose machinery this uses: the CLI as a whole process, talking to the server through a counting proxy). The
project is 300 files of 1–6 KB and one 20 MB file (a multipart upload, a ranged download).

Kill moments come from a seeded RNG: one early and one late in the bytes the command moves (the proxy kills
the process as it relays the chosen byte), one anywhere in the measured duration (often while the command
starts or plans). Whatever the moment:

- the second run converges: it exits 0; folder, bucket and manifest hold exactly the expected bytes; no
  `.pd-tmp-*` is left; no multipart upload stays open;
- no byte of a file whose landing the killed run had recorded (in the working folder's state) is moved again,
  either way; a file that landed in the instant before the kill, not yet recorded, may be compared (fetched);
- so most of the bytes that had landed before the kills are not moved again the same way (MAX_RESENT).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from benchmarks.kill_campaign import SMALL, Campaign, Moment, Trial, World, human

if TYPE_CHECKING:
    from tests.servers.seaweedfs import SeaweedServer

pytestmark = pytest.mark.seaweedfs

SEED = 20240611
TRIALS = 3
# Of the bytes that had landed before the kills (summed over a command's trials), at most this share may be
# moved again the same way: only files not yet recorded when the kill came (downloads landed in its last
# instant, fetched again to be compared) can be, and they are a few small files at most.
MAX_RESENT = 0.5


def moment(campaign: Campaign, command: str, index: int) -> Moment:
    """Trials 1 and 3: early and late in the bytes; trial 2 (an even one: sync sends the large file, so a large
    download never lands in the instant before a kill) anywhere in the measured duration."""
    rng = campaign.rng(f"{command}-kill", index)
    if index == 2:
        return Moment(seconds=rng.uniform(0.0, campaign.durations[command]))
    return Moment(fraction=rng.uniform(0.05, 0.45) if index == 1 else rng.uniform(0.55, 0.95))


@pytest.fixture(scope="module")
def campaign(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    work: Path = tmp_path_factory.mktemp("kill-resume")
    world = World(seaweed, work, bucket=f"kill-{uuid.uuid4().hex[:12]}")
    try:
        yield Campaign(world, SMALL, SEED, unkilled_runs=1, moment=moment)
    finally:
        world.close()


@pytest.mark.parametrize("command", ["push", "pull", "sync"])
def test_a_killed_run_resumes_and_converges(campaign: Campaign, command: str) -> None:
    trials = campaign.run_command(command, TRIALS)
    report = "\n".join(trial.line() for trial in trials)
    assert not [trial for trial in trials if trial.failures], report
    killed: list[Trial] = [trial for trial in trials if trial.kill is not None]
    assert len(killed) == TRIALS
    # The byte-triggered kills always come while the command runs, after its transfers began.
    assert all(t.killed and t.transfers_begun for t in killed if t.kill is not None and t.kill.fraction), report
    if any(trial.moved_recorded for trial in killed):
        pytest.fail(f"files recorded as landed before the kill were moved again by the second run:\n{report}")
    landed = sum(trial.landed for trial in killed)
    resent = sum(trial.resent for trial in killed)
    assert resent <= MAX_RESENT * landed, f"{human(resent)} of {human(landed)} landed were sent again\n{report}"
