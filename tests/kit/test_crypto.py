"""The keyring's temporary keys (``keyring.using``): a tool reading another deployment's
tokens in a process with keys of its own gets them back afterwards, even when it fails."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.kit.crypto import TokenKeyError, keyring


def test_using_restores_the_process_keys_even_after_an_error() -> None:
    ours, theirs = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    # The outer block leaves this test process's own keys as they were.
    with keyring.using([ours]):
        mine = keyring.encrypt("ours")
        with pytest.raises(RuntimeError), keyring.using([theirs]):
            sealed = keyring.encrypt("theirs")
            assert keyring.decrypt(sealed) == "theirs"
            with pytest.raises(TokenKeyError):
                keyring.decrypt(mine)
            raise RuntimeError("the tool failed")
        assert keyring.decrypt(mine) == "ours"
        with pytest.raises(TokenKeyError):
            keyring.decrypt(sealed)
