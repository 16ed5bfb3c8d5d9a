"""``postgres-init`` and ``postgres-setup`` without a server: initdb's argv, SCRAM verifiers, checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from dataplat.setup import postgres as setup


def test_initdb_is_non_interactive_scram_utf8_with_checksums(tmp_path: Path) -> None:
    argv = setup.initdb_argv(Path("/pg/bin"), tmp_path / "data", "postgres", tmp_path / "pw")
    assert argv == [
        "/pg/bin/initdb", f"--pgdata={tmp_path}/data", "--username=postgres", f"--pwfile={tmp_path}/pw",
        "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
        "--data-checksums", "--no-instructions",
    ]  # fmt: skip


def test_scram_verifier_is_what_the_server_checks_a_client_proof_against() -> None:
    salt = b"0123456789abcdef"
    verifier = setup.scram_verifier("pencil", salt=salt)
    method, _, rest = verifier.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    stored_key, server_key = (base64.b64decode(key) for key in keys.split(":"))
    assert method == "SCRAM-SHA-256" and iterations_salt == f"4096:{base64.b64encode(salt).decode()}"
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert hashlib.sha256(client_key).digest() == stored_key  # RFC 5802's StoredKey
    assert hmac.new(salted, b"Server Key", hashlib.sha256).digest() == server_key
    assert setup.scram_verifier("pencil") != setup.scram_verifier("pencil")  # a fresh salt each time
    assert "pencil" not in setup.scram_verifier("pencil")


def test_unreachable_names_the_first_folder_the_user_cannot_enter() -> None:
    top = Path(tempfile.mkdtemp(prefix="dataplat-reach-"))  # pytest's tmp_path sits in a 0700 folder
    top.chmod(0o755)
    closed = top / "closed"
    (closed / "inside").mkdir(parents=True)
    closed.chmod(0o700)
    other_uid = closed.stat().st_uid + 4242
    assert setup.unreachable(closed / "inside", other_uid, set()) == closed
    closed.chmod(0o711)
    assert setup.unreachable(closed / "inside", other_uid, set()) is None
    assert setup.unreachable(closed / "inside", closed.stat().st_uid, set()) is None  # the owner
    assert closed.stat().st_mode & stat.S_IXOTH
    shutil.rmtree(top)


def test_init_keeps_an_existing_cluster_and_refuses_a_stranger_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "postgres"
    data.mkdir()
    (data / "something").write_text("not a cluster")
    assert setup.init_cluster(Path("/absent"), data, tmp_path / "run", "postgres", "pw", None) == 1
    assert "holds no cluster" in capsys.readouterr().err
    (data / "PG_VERSION").write_text("15\n")
    assert setup.init_cluster(Path("/absent"), data, tmp_path / "run", "postgres", "pw", None) == 0


def test_setup_needs_each_roles_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTGRES_PASSWORD", raising=False)
    with pytest.raises(SystemExit):
        setup.main(["init", "--bin", "/b", "--data", "/d", "--socket-dir", "/s", "--superuser", "postgres"])
