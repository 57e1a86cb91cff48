"""A stand-in training run for the impact tests (real process, no GPU needed).

Spawns worker children (multiprocessing, like DataLoader workers), writes checkpoint files named
``ckpt_epoch{E}_step{S}.pt`` every ``--interval`` seconds into ``--dir``, keeps the newest one
open (from the moment it has its name), and handles SIGUSR1/SIGTERM by writing a
``signal_<NAME>`` marker and exiting cleanly. With ``--checkpoints N`` it stops writing after N
and keeps the last one open: a test that asserts what a snapshot of the run shows then sees no
new checkpoint appear between two of its reads.

    python trainer.py --dir CKPTS [--workers 2] [--interval 0.4] [--epochs 10] [--no-usr1]
                      [--checkpoints N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO

STEPS_PER_CHECKPOINT = 100
CHECKPOINTS_PER_EPOCH = 4


def worker(parent: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGUSR1):  # forked: drop the trainer's handlers
        signal.signal(signum, signal.SIG_DFL)
    while os.getppid() == parent:  # die with the trainer, like DataLoader workers
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--no-usr1", action="store_true")
    parser.add_argument("--checkpoints", type=int, default=0, help="stop writing after N")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    def stop(signum: int, _frame: FrameType | None) -> None:
        (args.dir / f"signal_{signal.Signals(signum).name}").write_text(str(time.time()))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    if not args.no_usr1:
        signal.signal(signal.SIGUSR1, stop)
    workers = [
        multiprocessing.Process(target=worker, args=(os.getpid(),), daemon=True)
        for _ in range(args.workers)
    ]
    for w in workers:
        w.start()
    (args.dir / "workers").write_text(" ".join(str(w.pid) for w in workers))
    step = 0
    held: IO[bytes] | None = None
    written = 0
    while True:
        if args.checkpoints and written >= args.checkpoints:
            time.sleep(args.interval)
            continue
        step += STEPS_PER_CHECKPOINT
        epoch = step // (STEPS_PER_CHECKPOINT * CHECKPOINTS_PER_EPOCH)
        path = args.dir / f"ckpt_epoch{epoch}_step{step}.pt"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"\0" * 4096)
        newest = open(tmp, "rb")  # noqa: SIM115 - kept open on purpose, as trainers do
        os.replace(tmp, path)  # open under its name from the moment it has it
        if held is not None:
            held.close()
        held = newest
        written += 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
