"""How long ``nexus mcp`` and its calls live: cancellation, disconnects and signals.

- A tool runs in a worker thread inside :func:`nexus_cli.deadlines.cancellable`. When the call is
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
- :class:`Answering` relays the messages between the transport and the server, and holds the
  end of input back from the server until every request read has its answer: the SDK cancels
  whatever is in flight as soon as its input ends (answering ``Connection closed``).
- :func:`serve_until_stopped` ends the server on SIGTERM, SIGINT or SIGHUP the same way, then
  lets the signal take its usual course (exit 143, 130 or 129) once everything is cleaned up.

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

from nexus_cli import deadlines, jsonio

T = TypeVar("T")

CLEANUP_S = 15.0  # what a cancelled call may take to end its gate and restore its task
END_OF_INPUT_GRACE_S = 5.0  # after the client closed stdin: answers to what it had sent
_POLL_S = 0.05

# Why the calls in flight are being cancelled when the whole server stops (one per process);
# a call cancelled on its own (notifications/cancelled) says "cancelled".
_stopping: list[str] = []


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; cancelled, the work is told to stop and awaited."""
    cancel, ended = deadlines.Cancellation(), threading.Event()

    def guarded() -> T:
        try:
            with deadlines.cancellable(cancel):
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
                if raw.isspace():  # a blank line is no message, and wants no answer
                    continue
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


class Answering:
    """The messages between the transport and the server, relayed so that the end of the client's
    input reaches the server only once every request read before it has been answered (or
    cancelled by the client), or ``END_OF_INPUT_GRACE_S`` has passed.

    ``request_id`` names the request a message from the client is (None for anything else),
    ``cancelled_id`` the request a cancellation from the client withdraws, and ``answer_id`` the
    request a message from the server answers. Both relays send on before they count, so an
    answer has reached the transport when its request stops being waited for.

    A line that is not a JSON-RPC message reaches the relay as the transport's parse error (the
    SDK's server would only log it, and a client waiting for an answer would wait for ever):
    ``unreadable`` makes the answer JSON-RPC 2.0 gives it, which goes straight to the client."""

    def __init__(
        self,
        request_id: Callable[[Any], object | None],
        cancelled_id: Callable[[Any], object | None],
        answer_id: Callable[[Any], object | None],
        unreadable: Callable[[Exception], Any],
    ) -> None:
        self._request_id, self._cancelled_id, self._answer_id = request_id, cancelled_id, answer_id
        self._unreadable = unreadable
        self._pending: set[object] = set()
        self._changed = anyio.Event()

    async def inward(
        self,
        source: AsyncIterator[Any],
        sink: anyio.abc.ObjectSendStream[Any],
        replies: anyio.abc.ObjectSendStream[Any],
    ) -> None:
        """From the client to the server (an unreadable line answered on ``replies``, to the
        client); at the client's end of input, wait, then end it."""
        async with sink, replies:
            async for item in source:
                if isinstance(item, Exception):
                    await replies.send(self._unreadable(item))
                    continue
                request = self._request_id(item)
                if request is not None:
                    self._pending.add(request)
                self._pending.discard(self._cancelled_id(item))
                await sink.send(item)
            with anyio.move_on_after(END_OF_INPUT_GRACE_S):
                while self._pending:
                    await self._changed.wait()
                    self._changed = anyio.Event()

    async def outward(
        self, source: AsyncIterator[Any], sink: anyio.abc.ObjectSendStream[Any]
    ) -> None:
        """From the server to the client, until the server ends its side."""
        async with sink:
            async for item in source:
                await sink.send(item)
                answered = self._answer_id(item)
                if answered is not None and answered in self._pending:
                    self._pending.discard(answered)
                    self._changed.set()


_REASONS = {signal.SIGTERM: "terminated", signal.SIGINT: "interrupted", signal.SIGHUP: "hung up"}


def _handled_signals() -> list[signal.Signals]:
    """SIGTERM, SIGINT and SIGHUP (a closed terminal), less any this process ignores (started
    under ``nohup`` or in the background): an ignored signal stays ignored."""
    return [s for s in _REASONS if signal.getsignal(s) is not signal.SIG_IGN]


async def serve_until_stopped(serve: Callable[[StdinLines], Awaitable[Any]]) -> int | None:
    """Run ``serve(stdin)`` until it ends, its input ends, or SIGTERM, SIGINT or SIGHUP comes; the
    signal that stopped it (None otherwise). Every call in flight is cancelled and cleaned up
    first."""
    stopped: list[int] = []
    handled = _handled_signals()
    stdin = StdinLines()
    async with anyio.create_task_group() as group:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(*handled) as signals:
                async for signum in signals:
                    stopped.append(signum)
                    _stopping.append(_REASONS.get(signum, "terminated"))
                    group.cancel_scope.cancel()
                    return

        served = anyio.Event()

        async def on_end_of_input() -> None:
            await stdin.ended.wait()
            _stopping.append("cancelled: the client disconnected")  # why any call ends now
            # The server answers what it read (Answering holds its input open meanwhile), then
            # ends by itself; calls still running then are cancelled and clean up first.
            with anyio.move_on_after(END_OF_INPUT_GRACE_S + CLEANUP_S):
                await served.wait()
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
    afterwards; a signal that stopped the server is then handed to them."""
    previous: dict[int, Any] = {s: signal.getsignal(s) for s in _handled_signals()}
    try:
        signum = anyio.run(serve_until_stopped, serve)
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)
    if signum is not None:
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, None)  # the CLI's: Terminated (exit 143, 129) or KeyboardInterrupt
        else:
            raise KeyboardInterrupt
