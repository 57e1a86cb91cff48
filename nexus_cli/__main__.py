"""The entry point of ``nexus`` (the console script) and ``python -m nexus_cli``.

A Ctrl-C may come at any moment, also while Python is still importing Nexus (tens of
milliseconds on a busy machine) or shutting down after the command. Python would then raise
KeyboardInterrupt inside an import or an exit handler and print a traceback. So :func:`run`
handles SIGINT itself until the CLI's error boundary (:func:`nexus_cli.cli.main`) is in place -
the process stops at once, prints ``interrupted`` and exits 130 - gives Ctrl-C back to Python
for the command (a KeyboardInterrupt, so cleanup runs, 130), and ignores it once the command has
returned its exit code.

Until the handler is in place this module imports only what Python has loaded already (``os``,
``sys``), ``gc`` (built in) and ``signal`` (which the CLI imports anyway), and the CLI after it:
start-up is not slower.

The cyclic garbage collector is off while the CLI is imported, and what the import made (modules,
classes, functions: objects that live until the process ends) is then frozen with
:func:`gc.freeze`, so that no later collection walks it again - neither those the command's own
allocations trigger nor the one Python runs when it exits. Importing the CLI allocates enough to
set off several full collections that find nothing to free; without them ``nexus --version`` runs
about 12% fewer instructions (``benchmarks/startup.py``). Objects made after the import are
collected as usual, so a long-running ``nexus mcp serve`` or ``nexus loop`` is not affected.
A command's own modules, imported when it is named (:class:`nexus_cli.lazy.NexusGroup`), are
imported and frozen the same way.
"""

# No `from __future__ import annotations`: it would import a module before the handler is set.
import os
import sys

try:
    import gc
    import signal
except KeyboardInterrupt:  # Ctrl-C before anything else: stop as the handler below would
    os.write(2, b"interrupted\n")
    os._exit(130)

INTERRUPTED = 130  # ExitCode.INTERRUPTED, which is only importable once the handler is set


def _stop(signum: int, frame: object) -> None:
    """SIGINT while Nexus starts: nothing has begun, so nothing needs cleaning up."""
    os.write(2, b"interrupted\n")
    os._exit(INTERRUPTED)


def run() -> None:
    """Run ``nexus`` with ``sys.argv`` and exit with its code."""
    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN or previous is None:  # started with Ctrl-C ignored (`&`)
            previous = None
        else:
            signal.signal(signal.SIGINT, _stop)
    except KeyboardInterrupt:  # Ctrl-C while the handler is being set: stop as it would
        _stop(signal.SIGINT, None)
    code = INTERRUPTED
    try:
        gc.disable()
        try:
            from nexus_cli.cli import main  # noqa: PLC0415 - under the handler above, on purpose
        finally:
            gc.freeze()
            gc.enable()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)  # Ctrl-C is a KeyboardInterrupt again
        code = main()
    except KeyboardInterrupt:  # between the import and main()'s boundary, or after it
        code = INTERRUPTED
    finally:
        if previous is not None:  # shutting down: flushing output, exit handlers
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
