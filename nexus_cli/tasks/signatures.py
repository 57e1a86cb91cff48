"""Signing receipts with the key the user signs git commits with, and checking such signatures.

The key is the one git uses: ``user.signingkey`` with ``gpg.format`` ``ssh`` or ``openpgp``
(git's default when unset). Nothing is signed when no key is configured. The programs are always
``ssh-keygen`` and ``gpg`` from ``PATH`` (``gpg.program`` and ``gpg.ssh.program`` are not used:
checking a receipt must not run a program that a repository's configuration names).

Signing runs in a new session, without a terminal: a key that needs a passphrase signs only
through its agent (ssh-agent, gpg-agent), and otherwise fails quickly instead of asking. A
failure never fails a gate: the receipt is stored unsigned, with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import git, jsonio, proc
from nexus_cli.errors import NexusError

NAMESPACE = "nexus-receipt"
SIGN_TIMEOUT_S = 60.0
UNSIGNED_FIELDS = ("signature", "signature_error")
_SSH_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
_SSH_FINGERPRINT = re.compile(r"\b(SHA256:[A-Za-z0-9+/=]+)")
_GPG_VALIDSIG = re.compile(r"^\[GNUPG:\] VALIDSIG ([0-9A-F]+)", re.MULTILINE)


class SigningError(NexusError):
    """A receipt could not be signed, or its signature could not be checked."""


def canonical(receipt: dict[str, Any]) -> bytes:
    """What is signed: the receipt as compact JSON with sorted keys, without its signature."""
    data = {k: v for k, v in receipt.items() if k not in UNSIGNED_FIELDS}
    return jsonio.dumps(data, sort_keys=True, compact=True).encode()


@dataclass(frozen=True)
class SigningKey:
    """The user's git signing key: ``format`` is ``ssh`` or ``openpgp``; ``key`` as configured."""

    format: str
    key: str

    def signer(self) -> dict[str, Any]:
        """Who signs, as recorded in a receipt (part of what is signed)."""
        if self.format == "ssh":
            public = _ssh_public_key(self.key)
            return {"format": "ssh", "key": public, "fingerprint": ssh_fingerprint(public)}
        return {"format": "openpgp", "key": self.key}


def configured_key(cwd: Path) -> SigningKey | None:
    """The signing key git is configured with in ``cwd``, or None when there is none."""
    key = git.config_value(cwd, "user.signingkey")
    if not key or not key.strip():
        return None
    fmt = (git.config_value(cwd, "gpg.format") or "openpgp").strip().lower()
    if fmt not in ("ssh", "openpgp"):
        raise SigningError(f"gpg.format {fmt!r} is not supported for receipts (ssh or openpgp)")
    return SigningKey(fmt, key.strip())


def sign(key: SigningKey, data: bytes) -> str:
    """An armored detached signature of ``data``; :class:`SigningError` when it cannot be made."""
    if key.format == "ssh":
        with _ssh_key_file(key.key) as path:
            argv = ["ssh-keygen", "-Y", "sign", "-f", path, "-n", NAMESPACE]
            done = _run(argv, data)
    else:
        done = _run(["gpg", "--batch", "--detach-sign", "--armor", "-u", key.key], data)
    if done.returncode != 0 or not done.stdout.strip():
        raise SigningError(f"{done.argv[0]} could not sign: {_why(done)}")
    return done.stdout


def verify(signer: Any, signature: Any, data: bytes) -> str | None:
    """None when ``signature`` is a good signature of ``data`` by ``signer``; else why not."""
    if not isinstance(signer, dict) or not isinstance(signature, str):
        return "its signature or signer is malformed"
    fmt = signer.get("format")
    with tempfile.TemporaryDirectory(prefix="nexus-sig-") as folder:
        sigfile = Path(folder) / "receipt.sig"
        sigfile.write_text(signature, encoding="utf-8")
        try:
            if fmt == "ssh":
                return _verify_ssh(signer, sigfile, data)
            if fmt == "openpgp":
                return _verify_gpg(sigfile, data)
        except NexusError as exc:  # the program is missing or cannot start
            return f"its signature cannot be checked ({exc.message})"
    return f"its signer has an unknown format {fmt!r}"


def _verify_ssh(signer: dict[str, Any], sigfile: Path, data: bytes) -> str | None:
    argv = ["ssh-keygen", "-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sigfile)]
    done = _run(argv, data)
    if done.returncode != 0:
        return f"its signature does not verify ({_why(done)})"
    found = _SSH_FINGERPRINT.search(done.stdout + done.stderr)
    expected = signer.get("fingerprint")
    if found is not None and expected and found.group(1) != expected:
        return f"it is signed by {found.group(1)}, not by its recorded signer {expected}"
    return None


def _verify_gpg(sigfile: Path, data: bytes) -> str | None:
    done = _run(["gpg", "--batch", "--status-fd", "1", "--verify", str(sigfile), "-"], data)
    if done.returncode != 0 or _GPG_VALIDSIG.search(done.stdout) is None:
        return f"its signature does not verify ({_why(done)})"
    return None


def ssh_fingerprint(public: str) -> str | None:
    """``SHA256:…`` of an OpenSSH public key line, as ``ssh-keygen -l`` prints it."""
    parts = public.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _ssh_public_key(key: str) -> str:
    """The public key line (type and key, no comment) for git's ``user.signingkey`` value."""
    literal = key.removeprefix("key::")
    if literal.startswith(_SSH_KEY_TYPES):
        return " ".join(literal.split()[:2])
    path = Path(os.path.expanduser(key))
    public = path if path.suffix == ".pub" else Path(f"{path}.pub")
    try:
        text = public.read_text(encoding="utf-8").strip()
    except OSError:
        done = _run(["ssh-keygen", "-y", "-f", str(path)], None)
        if done.returncode != 0:
            raise SigningError(f"cannot read the public key of {key}: {_why(done)}") from None
        text = done.stdout.strip()
    return " ".join(text.split()[:2])


@contextmanager
def _ssh_key_file(key: str) -> Iterator[str]:
    """A file ``ssh-keygen -f`` accepts for the key: the configured path, or a literal public
    key written to a temporary file (its private half is then in ssh-agent)."""
    literal = key.removeprefix("key::")
    if not literal.startswith(_SSH_KEY_TYPES):
        yield os.path.expanduser(key)
        return
    with tempfile.TemporaryDirectory(prefix="nexus-key-") as folder:
        path = Path(folder) / "key.pub"
        path.write_text(literal.strip() + "\n", encoding="utf-8")
        yield str(path)


def _run(argv: list[str], data: bytes | None) -> proc.Completed:
    done = proc.run(argv, input=data, timeout=SIGN_TIMEOUT_S, new_session=True)
    if done.timed_out:
        return proc.Completed(argv, -1, "", f"did not finish within {SIGN_TIMEOUT_S:g}s", True)
    return done


def _why(done: proc.Completed) -> str:
    lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("[GNUPG:]")]
    return "; ".join(lines[-2:]) or f"exit {done.returncode}"
