"""How long ``nexus mcp`` and its calls live: cancellation, disconnects and signals.

- A tool runs in a worker thread inside :func:`nexus_cli.proc.cancellable`. When the call is
  cancelled (the client's ``notifications/cancelled``, a client that went away, the server
  stopping), :func:`in_thread` sets the cancellation: a gate that runs is ended with its whole
  process group and the operation undoes what it claimed (a task ``verifying`` goes back, with a
  history note), while the call waits, shielded, for that clean-up (at most ``CLEANUP_S``).
- :class:`StdinLines` reads the client's messages in a daemon thread: a read blocked on a silent
  client must not keep the process alive once the server has ended (anyio's worker threads,
  which the SDK's own reader uses, are joined when Python exits). End of input is the client's
  shutdown (MCP's stdio transport: the client closes the server's stdin first): what was
  already sent is still answered for up to ``END_OF_INPUT_GRACE_S`` (a client may write its
  last request and close at once), then calls still in flight are cancelled and the server ends.
- :func:`serve_until_stopped` ends the server on SIGTERM or SIGINT the same way, then lets the
  signal take its usual course (exit 143 or 130) once everything is cleaned up.

Only :mod:`anyio` here; the SDK stays in :mod:`nexus_cli.mcp.server`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from nexus_cli import jsonio, proc

T = TypeVar("T")

CLEANUP_S = 15.0  # what a cancelled call may take to end its gate and restore its task
END_OF_INPUT_GRACE_S = 5.0  # after the client closed stdin: answers to what it had sent
_POLL_S = 0.05

# Why the calls in flight are being cancelled when the whole server stops (one per process);
# a call cancelled on its own (notifications/cancelled) says "cancelled".
_stopping: list[str] = []


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; cancelled, the work is told to stop and awaited."""
    cancel, ended = proc.Cancellation(), threading.Event()

    def guarded() -> T:
        try:
            with proc.cancellable(cancel):
                return work()
        finally:
            ended.set()

    try:
        return await anyio.to_thread.run_sync(guarded, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancel.cancel(_stopping[-1] if _stopping else "cancelled")
        with anyio.move_on_after(CLEANUP_S, shield=True):
            while not ended.is_set():
                await anyio.sleep(_POLL_S)
        raise


class StdinLines:
    """The server's stdin, line by line (see the module); ``ended`` is set at end of input."""

    def __init__(self) -> None:
        self.ended = anyio.Event()
        self._send, self._receive = anyio.create_memory_object_stream[str](16)
        # The wire gets a private descriptor; fd 0 becomes /dev/null, so nothing else reads it.
        self._fd = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        token = anyio.lowlevel.current_token()
        threading.Thread(target=self._read, args=(token,), daemon=True).start()

    def _read(self, token: anyio.lowlevel.EventLoopToken) -> None:
        # Any failure (the loop is gone: the server ended; the pipe broke) ends the reading.
        with contextlib.suppress(Exception), os.fdopen(self._fd, "rb", closefd=True) as wire:
            for raw in wire:
                # Undecodable bytes, and lone surrogates (which the SDK's parser refuses, and
                # then answers nothing: the client would wait for ever), become U+FFFD.
                line = jsonio.replace_lone_surrogates(raw.decode("utf-8", "replace"))
                anyio.from_thread.run(self._send.send, line, token=token)
        with contextlib.suppress(Exception):  # the loop may have ended already
            anyio.from_thread.run_sync(self._close, token=token)

    def _close(self) -> None:
        self._send.close()
        self.ended.set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._receive.__aiter__()


async def serve_until_stopped(serve: Callable[[StdinLines], Awaitable[Any]]) -> int | None:
    """Run ``serve(stdin)`` until it ends, its input ends, or SIGTERM/SIGINT comes; the signal
    that stopped it (None otherwise). Every call in flight is cancelled and cleaned up first."""
    stopped: list[int] = []
    stdin = StdinLines()
    async with anyio.create_task_group() as group:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    stopped.append(signum)
                    _stopping.append("terminated" if signum == signal.SIGTERM else "interrupted")
                    group.cancel_scope.cancel()
                    return

        served = anyio.Event()

        async def on_end_of_input() -> None:
            await stdin.ended.wait()
            _stopping.append("cancelled: the client disconnected")  # why any call ends now
            with anyio.move_on_after(END_OF_INPUT_GRACE_S):
                await served.wait()  # the server answers what it read, then ends by itself
            group.cancel_scope.cancel()

        async def run() -> None:
            await serve(stdin)
            served.set()
            group.cancel_scope.cancel()

        group.start_soon(on_signal)
        group.start_soon(on_end_of_input)
        group.start_soon(run)
    return stopped[0] if stopped else None


def run(serve: Callable[[StdinLines], Awaitable[Any]]) -> None:
    """Serve (see :func:`serve_until_stopped`) with the signal handlers of the caller restored
    afterwards; a SIGTERM or SIGINT that stopped the server is then handed to them."""
    previous: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        signum = anyio.run(serve_until_stopped, serve)
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)
    if signum is not None:
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, None)  # the CLI's: Terminated (exit 143) or KeyboardInterrupt (130)
        else:
            raise KeyboardInterrupt
