"""Receipts signed with the user's git signing key (a real ssh key, a real gpg key), and checked."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.tasks import signatures
from tests.conftest import git, run_nexus
from tests.tasks.conftest import close_task, commit_all, edit_task_line, gate_receipts


def _check(root: Path) -> tuple[int, dict[str, Any]]:
    result = run_nexus("-C", str(root), "task", "check-receipts", "--json")
    data: dict[str, Any] = result.json()
    return result.exit_code, data


def test_an_ssh_key_signs_and_a_fresh_clone_verifies(
    tasks_project: Path, ssh_signing_key: Path, tmp_path: Path
) -> None:
    task_id = close_task(tasks_project, "Signed", "echo signed")
    receipt = gate_receipts(tasks_project, task_id)[0]
    public = Path(f"{ssh_signing_key}.pub").read_text().split()
    assert receipt["signer"] == {
        "format": "ssh",
        "key": " ".join(public[:2]),
        "fingerprint": signatures.ssh_fingerprint(" ".join(public[:2])),
    }
    assert receipt["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    listed = subprocess.run(
        ["ssh-keygen", "-lf", f"{ssh_signing_key}.pub"], capture_output=True, text=True
    )
    assert receipt["signer"]["fingerprint"] in listed.stdout  # as ssh-keygen prints it
    commit_all(tasks_project, "signed")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tasks_project), str(clone))
    code, data = _check(clone)
    assert code == 0, data
    assert run_nexus("-C", str(clone), "task", "check-receipts", "--require-signed").exit_code == 0


def test_a_tampered_signed_receipt_fails_its_signature(
    tasks_project: Path, ssh_signing_key: Path
) -> None:
    task_id = close_task(tasks_project, "Signed", "echo signed")
    commit_all(tasks_project, "signed")

    def edit(data: dict[str, Any]) -> None:  # a field no other check looks at
        for entry in data["history"]:
            if "receipt" in entry:
                entry["receipt"]["duration_ms"] += 1000

    edit_task_line(tasks_project, task_id, edit)
    code, data = _check(tasks_project)
    assert code == 1
    [problem] = data["tasks"][0]["problems"]
    assert problem.startswith("gate `echo signed`: its signature does not verify")


def test_a_signature_by_another_key_than_the_recorded_signer_fails(
    tasks_project: Path, ssh_signing_key: Path
) -> None:
    task_id = close_task(tasks_project, "Signed", "true")
    other = {"format": "ssh", "key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:someoneelse"}

    def edit(data: dict[str, Any]) -> None:
        for entry in data["history"]:
            if "receipt" in entry:
                receipt = entry["receipt"]
                receipt["signer"] = other
                key = signatures.SigningKey("ssh", str(ssh_signing_key))
                receipt["signature"] = signatures.sign(key, signatures.canonical(receipt))

    edit_task_line(tasks_project, task_id, edit)
    code, data = _check(tasks_project)
    assert code == 1
    assert "not by its recorded signer SHA256:someoneelse" in data["tasks"][0]["problems"][0]


def test_require_signed_refuses_an_unsigned_receipt(tasks_project: Path) -> None:
    close_task(tasks_project, "Unsigned", "true")
    result = run_nexus("task", "check-receipts", "--require-signed")
    assert result.exit_code == 1 and "the receipt is not signed" in result.stdout


def test_an_unsupported_format_is_a_signature_error(tasks_project: Path) -> None:
    git(tasks_project, "config", "gpg.format", "x509")
    git(tasks_project, "config", "user.signingkey", "whatever")
    task_id = close_task(tasks_project, "X509", "true")
    assert "not supported" in gate_receipts(tasks_project, task_id)[0]["signature_error"]


@pytest.fixture
def gpg_signing_key(isolated_home: Path) -> Iterator[str]:
    """A real openpgp key without a passphrase in a temporary GNUPGHOME; git signs with it."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = isolated_home / ".gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    uid = "Nexus Test <test@example.invalid>"
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1d"],
        check=True,
        capture_output=True,
        env=env,
    )
    git(isolated_home, "config", "--global", "gpg.format", "openpgp")
    git(isolated_home, "config", "--global", "user.signingkey", "test@example.invalid")
    yield str(home)
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)


def test_an_openpgp_key_signs_and_verifies(
    tasks_project: Path, gpg_signing_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", gpg_signing_key)
    task_id = close_task(tasks_project, "Signed", "true")
    receipt = gate_receipts(tasks_project, task_id)[0]
    assert receipt["signer"] == {"format": "openpgp", "key": "test@example.invalid"}
    assert receipt["signature"].startswith("-----BEGIN PGP SIGNATURE-----")
    assert _check(tasks_project)[0] == 0
    edit_task_line(
        tasks_project,
        task_id,
        lambda d: [e["receipt"].update(head=None) for e in d["history"] if "receipt" in e],
    )
    code, data = _check(tasks_project)
    assert code == 1 and "its signature does not verify" in data["tasks"][0]["problems"][0]
