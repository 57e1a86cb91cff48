"""Stopping a training run, now or right after its next complete checkpoint.

``nexus gpu stop PID --at-checkpoint`` watches the folders where the run writes checkpoints (the
same detection as ``gpu impact``: open files, cwd, command-line folders, ``--checkpoint-dir``)
and signals the run as soon as a *new* checkpoint is complete:

- Hugging Face Trainer ``checkpoint-N/``: when ``trainer_state.json`` inside it is whole JSON (the
  Trainer writes it after the model, optimizer and RNG states);
- DeepSpeed ``global_stepN/``: when the ``latest`` file beside it names that folder (DeepSpeed
  writes it after the checkpoint's files);
- any other file or folder (``torch.save``, Lightning ``.ckpt``, a ``torch.save`` to a temporary
  name renamed into place): when no process of the run has it (or a file in it) open for writing
  and its size and modification time have not changed for ``settle_s``.

The signal goes to the run's process group (and any descendant that left it), never to nexus's
own group, each member passing the guards of :mod:`nexus_cli.gpu.guards`; the run's PID and
create time are re-checked before every signal, and psutil re-checks each PID it signals. The
escalation is documented in docs/gpu.md: the chosen signal, ``grace_s`` later SIGTERM (when the
first was another signal), ``grace_s`` later SIGKILL (unless ``kill`` is off).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import jsonio
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.gpu import guards, procinfo
from nexus_cli.gpu.actions import PermissionRefusedError, check_identity
from nexus_cli.gpu.checkpoints import Checkpoint
from nexus_cli.gpu.containers import host_path
from nexus_cli.gpu.impact import checkpoints_of
from nexus_cli.timefmt import rfc3339

if TYPE_CHECKING:
    import psutil

SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2", "SIGHUP")
HF_MARKER = "trainer_state.json"
DEEPSPEED_LATEST = "latest"
KILL_WAIT_S = 5.0  # how long to wait for the group to go after SIGKILL
DEADLINE_EXIT = 124  # as timeout(1): no checkpoint came before --deadline, nothing was sent


class DeadlinePassedError(NexusError):
    """No checkpoint completed before the deadline and nobody said to stop anyway."""

    exit_code = DEADLINE_EXIT
    category = "deadline"


@dataclass
class StopOptions:
    signal: int = signal.SIGTERM
    grace_s: float = 30.0
    kill: bool = True
    at_checkpoint: bool = False
    deadline_s: float | None = None
    settle_s: float = 0.3
    poll_s: float = 0.1
    extra_dirs: list[Path] = field(default_factory=list)
    force_other_user: bool = False
    expected_create_time: float | None = None


@dataclass
class Sent:
    signal: str
    pids: list[int]
    at: float  # epoch seconds


@dataclass
class StopResult:
    pid: int
    reason: str  # "now", "checkpoint", "deadline" (asked, and told to stop anyway), "exited"
    checkpoint: str | None = None
    complete_by: str | None = None  # "trainer_state.json", "latest", "stable"
    checkpoint_seen_complete_at: float | None = None
    sent: list[Sent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    exited: bool = False
    waited_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        seen = self.checkpoint_seen_complete_at
        data["checkpoint_seen_complete_at"] = None if seen is None else rfc3339(seen)
        data["sent"] = [{**asdict(s), "at": rfc3339(s.at)} for s in self.sent]
        return data


def signal_number(name: str) -> int:
    """``SIGUSR1`` / ``usr1`` as its number; one of :data:`SIGNALS` only."""
    upper = name.upper()
    full = upper if upper.startswith("SIG") else f"SIG{upper}"
    if full not in SIGNALS:
        raise UsageError(f"--signal must be one of {', '.join(SIGNALS)}, not {name!r}")
    return int(signal.Signals[full])


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float  # monotonic time these values were first seen


class CheckpointWatcher:
    """Tells when a checkpoint that was not there (or not like this) at the start is complete.

    Where checkpoints are looked for follows the files the run has open, so a folder can join
    during the watch: a run that opens ``~/.cache/torch/hub/checkpoints/resnet50.pth`` to read
    weights (or Python reading a ``.pth`` file of site-packages as it starts). What such a
    folder already held is not the run's next checkpoint: a file not in the baseline counts
    only when written since the watch began (a checkpoint is written while it is watched)."""

    def __init__(
        self, facts: procinfo.ProcessFacts, extra_dirs: list[Path], settle_s: float
    ) -> None:
        self._facts = facts
        self._extra = extra_dirs
        self._settle_s = settle_s
        self._seen: dict[str, _Seen] = {}
        self._began = time.time()
        self.baseline = {c.path: (c.size, c.mtime) for c in checkpoints_of(facts, extra_dirs)}

    def _writing(self) -> set[str]:
        """Resolved paths the run's processes have open for writing."""
        import psutil

        pid = self._facts.pid
        pids = [pid]
        with contextlib.suppress(psutil.Error):
            pids += [k.pid for k in psutil.Process(pid).children(recursive=True)]
        return {os.path.realpath(host_path(pid, p)) for p in procinfo.paths_open_for_writing(pids)}

    def poll(self) -> tuple[Checkpoint, str] | None:
        """The first new checkpoint that is complete, with how that was told; None yet."""
        found = checkpoints_of(self._facts, self._extra)
        fresh = [
            c
            for c in found
            if self.baseline.get(c.path, (c.size, c.mtime)) != (c.size, c.mtime)
            or (c.path not in self.baseline and c.mtime >= self._began)
        ]
        if not fresh:
            return None
        writing = self._writing()
        for ckpt in reversed(fresh):  # newest first
            how = self._complete(ckpt, writing)
            if how is not None:
                return ckpt, how
        return None

    def _complete(self, ckpt: Checkpoint, writing: set[str]) -> str | None:
        path = Path(ckpt.path)
        inside = ckpt.path + os.sep
        latest = str(path.parent / DEEPSPEED_LATEST)
        if any(w == ckpt.path or w.startswith(inside) or w == latest for w in writing):
            self._seen.pop(ckpt.path, None)
            return None  # still being written (the marker too must be closed)
        if ckpt.layout == "huggingface" and path.is_dir():
            return HF_MARKER if _whole_json(path / HF_MARKER) else None
        if ckpt.layout == "deepspeed" and path.is_dir():
            return DEEPSPEED_LATEST if _latest_tag(path.parent) == path.name else None
        now = time.monotonic()
        seen = self._seen.get(ckpt.path)
        if seen is None or (seen.size, seen.mtime) != (ckpt.size, ckpt.mtime):
            self._seen[ckpt.path] = seen = _Seen(ckpt.size, ckpt.mtime, now)
        # Unchanged since we first saw it this way, or (a file renamed into place) last written
        # long enough ago: either way nothing has written to it for settle_s.
        unchanged_for = max(now - seen.since, time.time() - ckpt.mtime)
        return "stable" if unchanged_for >= self._settle_s else None


def _whole_json(path: Path) -> bool:
    try:
        jsonio.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def _latest_tag(folder: Path) -> str | None:
    try:
        return (folder / DEEPSPEED_LATEST).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _targets(proc: psutil.Process, uid: int, force: bool) -> tuple[list[psutil.Process], list[str]]:
    """The run's process group (never nexus's own) plus its descendants, each one allowed by
    the guards; a note for each member left alone."""
    import psutil

    pids = {proc.pid}
    pgid = procinfo.process_group(proc.pid)
    if pgid is not None and pgid != os.getpgrp():
        pids.update(procinfo.group_members(pgid))
    with contextlib.suppress(psutil.Error):
        pids.update(k.pid for k in proc.children(recursive=True))
    allowed: list[psutil.Process] = [proc]
    skipped: list[str] = []
    for pid in sorted(pids - {proc.pid}):
        reason = guards.refusal(pid, uid, force_other_user=force)
        if reason is not None:
            skipped.append(reason.replace("refused to signal", "left alone"))
            continue
        try:
            allowed.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return allowed, skipped


def _send(
    proc: psutil.Process, number: int, created: float, uid: int, force: bool
) -> tuple[Sent, list[str], list[psutil.Process]]:
    import psutil

    targets, skipped = _targets(proc, uid, force)
    check_identity(proc, created)  # right before the signal
    sent: list[psutil.Process] = []
    for target in targets:
        try:
            target.send_signal(number)  # psutil re-checks that the PID is still this process
            sent.append(target)
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            if target is proc:
                raise PermissionRefusedError(f"not allowed to signal PID {proc.pid}") from None
    record = Sent(procinfo.signal_name(number), sorted(t.pid for t in sent), time.time())
    return record, skipped, sent


def _all_gone(procs: list[psutil.Process]) -> bool:
    import psutil

    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.Error:
            continue
    return True


def _wait_gone(procs: list[psutil.Process], seconds: float, poll_s: float) -> bool:
    end = time.monotonic() + seconds
    while True:
        if _all_gone(procs):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(poll_s)


def escalate(
    proc: psutil.Process, created: float, options: StopOptions, uid: int, result: StopResult
) -> None:
    """The documented sequence: the chosen signal; after ``grace_s`` SIGTERM (when the first
    was another); after ``grace_s`` more SIGKILL (unless ``kill`` is off)."""
    plan = [options.signal]
    if options.signal != signal.SIGTERM:
        plan.append(signal.SIGTERM)
    if options.kill:
        plan.append(signal.SIGKILL)
    for number in plan:
        if result.sent and not procinfo.is_running(proc.pid, created):
            break  # the run itself is gone: its leftovers are its own business now
        record, skipped, procs = _send(proc, number, created, uid, options.force_other_user)
        result.sent.append(record)
        result.skipped = sorted(set(result.skipped) | set(skipped))
        wait = KILL_WAIT_S if number == signal.SIGKILL else options.grace_s
        if _wait_gone(procs, wait, options.poll_s):
            result.exited = True
            return
    result.exited = not procinfo.is_running(proc.pid, created)


def stop(
    pid: int,
    options: StopOptions,
    *,
    notify: Callable[[str], None] = lambda _line: None,
    ask: Callable[[str], bool] = lambda _question: False,
) -> StopResult:
    """Stop ``pid`` now, or (``at_checkpoint``) right after its next complete checkpoint.

    ``ask`` is called once when the deadline passes: True stops the run anyway, False gives up
    (:class:`DeadlinePassedError`, nothing sent). Ctrl-C while watching sends nothing.
    """
    uid = os.getuid()
    guards.check(pid, uid, force_other_user=options.force_other_user)
    facts = procinfo.describe_tree(pid)
    created = (
        facts.create_time if options.expected_create_time is None else options.expected_create_time
    )
    proc = procinfo.get_process(pid)
    check_identity(proc, created)
    started = time.monotonic()
    result = StopResult(pid, "now")
    if options.at_checkpoint:
        watcher = CheckpointWatcher(facts, options.extra_dirs, options.settle_s)
        notify(
            f"watching PID {pid} for its next checkpoint"
            f" ({len(watcher.baseline)} already there); Ctrl-C leaves it running"
        )
        deadline = None if options.deadline_s is None else started + options.deadline_s
        while True:
            if not procinfo.is_running(pid, created):
                result.reason, result.exited = "exited", True
                result.waited_s = round(time.monotonic() - started, 2)
                return result
            done = watcher.poll()
            if done is not None:
                ckpt, how = done
                result.reason, result.checkpoint, result.complete_by = "checkpoint", ckpt.path, how
                result.checkpoint_seen_complete_at = time.time()
                break
            if deadline is not None and time.monotonic() >= deadline:
                waited = round(time.monotonic() - started)
                if not ask(f"no checkpoint completed in {waited}s; stop PID {pid} now anyway?"):
                    raise DeadlinePassedError(
                        f"no checkpoint completed within {waited}s; nothing was sent to PID {pid}",
                        hint="run again with a later --deadline, or without --at-checkpoint",
                    )
                result.reason = "deadline"
                break
            time.sleep(options.poll_s)
    result.waited_s = round(time.monotonic() - started, 2)
    escalate(proc, created, options, uid, result)
    return result
