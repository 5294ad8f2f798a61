"""chain/config.py's settings file and chain/keystore.py's choice of password: which value wins,
and a bad setting refused naming the file and the key."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chain import keystore
from chain.config import DEFAULT_RPC, ConfigError, default_rpc
from chain.keystore import KeystoreError, password_variable, read_password


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    for variable in ("RCM_RPC", "RCM_PASSWORD", "RCM_PASSWORD_ALICE", "RCM_PASSWORD_BOB_2"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def test_rpc_comes_from_the_environment_then_the_file_then_the_default(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_rpc() == DEFAULT_RPC
    (home / "config.toml").write_text('rpc = "http://10.0.0.5:8545"\n')
    assert default_rpc() == "http://10.0.0.5:8545"
    monkeypatch.setenv("RCM_RPC", "embedded")
    assert default_rpc() == "embedded"


@pytest.mark.parametrize(("text", "field", "reason"), [
    ('rpc = "ftp://x"\n', "config.rpc", "expected an http(s) URL"),
    ("rpc = 8545\n", "config.rpc", "must be a non-empty string"),
    ('wallet = "alice"\n', "config.wallet", "not a setting (rcm reads rpc)"),
    ("rpc = \n", "config", "cannot read"),
])
def test_a_bad_setting_names_the_file_and_the_key(home: Path, text: str, field: str,
                                                  reason: str) -> None:
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as refused:
        default_rpc()
    assert refused.value.field == field
    assert reason in refused.value.reason and str(home / "config.toml") in refused.value.reason


def test_a_keystore_password_of_its_own_comes_before_the_shared_one(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert password_variable("bob-2") == "RCM_PASSWORD_BOB_2"
    monkeypatch.setenv("RCM_PASSWORD", "shared")
    monkeypatch.setenv("RCM_PASSWORD_ALICE", "alice's")
    assert read_password("alice") == "alice's"
    assert read_password("bob-2") == "shared"
    assert read_password() == "shared"


def test_without_a_password_or_a_terminal_the_refusal_names_both_variables(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_terminal(path: str) -> None:
        raise OSError("no terminal")

    monkeypatch.setattr(keystore, "open", no_terminal, raising=False)
    with pytest.raises(KeystoreError, match="set RCM_PASSWORD_ALICE or RCM_PASSWORD, or run"):
        read_password("alice")


def test_the_prompt_names_the_wallet(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    asked: list[str] = []
    monkeypatch.setattr(keystore, "open", lambda path: io.StringIO(), raising=False)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or "typed")
    assert read_password("alice") == "typed"
    assert asked == ["password for alice: "]
