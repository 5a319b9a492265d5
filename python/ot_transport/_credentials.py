"""Credentials, Nyms, contracts and wallets: the files a legacy client already has, verified
(``docs/credentials.md``). Sessions and notaries take them through ``Session.from_contract``,
``Session.set_identity_nym`` and ``Notary.from_nym``."""

from __future__ import annotations

import enum
import os
from typing import Iterable, Optional, Tuple, Union

from . import _ffi
from ._api import BytesLike, Key, _b, _call_buf, _call_handle, _call_text, _Handle, _lib, _opt_b, _s
from ._errors import OtError

#: The verification rules of ``docs/credentials.md``; a refusal's ``detail`` starts with one
#: (``BadSignatureError``; ``NOTARY``: ``MalformedError``).
RULES: Tuple[str, ...] = (
    "NYMID",
    "LIST_STRUCT",
    "MISSING",
    "CRED_ID",
    "MASTER_SELFSIG",
    "SOURCE",
    "MASTER_SIG_MISSING",
    "MASTER_SIG",
    "MASTER_LINK",
    "KEY_SELFSIG",
    "CONSISTENCY",
    "PRIVATE_OUTER",
    "PRIVATE_KEYS",
    "CONTRACT_SIG",
    "NOTARY",
)


def rule_of(error: OtError) -> Optional[str]:
    """The verification rule an error names (``"MASTER_SIG"``, …), or None."""
    head = error.detail.split(":", 1)[0]
    return head if head in RULES else None


class KeyRole(enum.IntEnum):
    """A Nym's key roles (``OT_KEY_ROLE_*``)."""

    AUTH = 1  #: A: signs messages (requests, replies)
    ENCRYPTION = 2  #: E: opens envelopes sealed to the Nym
    SIGNING = 3  #: S: signs contracts


def wallet_master_key(wallet: BytesLike, passphrase: BytesLike) -> bytes:
    """The 16-byte master key cached in a legacy wallet (``wallet.xml``, or a notary's
    ``notaryServer.xml``), unlocked with the wallet's passphrase: the passphrase of every private
    key of the wallet's credentials."""
    raw, pw = _b(wallet), _b(passphrase, "passphrase")
    return _call_buf(_lib.ot_wallet_master_key, raw, len(raw), pw, len(pw))


def _pass(passphrase: Optional[BytesLike]) -> Tuple[Optional[bytes], int]:
    pw = _opt_b(passphrase, "passphrase")
    return pw, 0 if pw is None else len(pw)


class _HasKeys(_Handle):
    __slots__ = ()
    _key_fn = ""

    def key(self, role: Union[KeyRole, int]) -> Key:
        """The key of a role (a new ``Key``)."""
        return Key(_call_handle(getattr(_lib, self._key_fn), self.handle, int(role)))

    @property
    def auth(self) -> Key:
        """A: signs messages."""
        return self.key(KeyRole.AUTH)

    @property
    def encryption(self) -> Key:
        """E: opens envelopes."""
        return self.key(KeyRole.ENCRYPTION)

    @property
    def signing(self) -> Key:
        """S: signs contracts."""
        return self.key(KeyRole.SIGNING)


class Nym(_HasKeys):
    """A 2013+ Nym whose credential list and credentials all verified (``ot_nym``). It hands out
    its key credential's keys: private when loaded from private files with the passphrase (for a
    2013 wallet: ``wallet_master_key``), otherwise public. Immutable."""

    _free_name = "ot_nym_free"
    _key_fn = "ot_nym_key"
    __slots__ = ()

    @classmethod
    def load(
        cls,
        credential_list: BytesLike,
        credentials: Iterable[BytesLike],
        passphrase: Optional[BytesLike] = None,
    ) -> "Nym":
        """From the ``<NymID>.cred`` list and the credential files' contents (any order)."""
        lst = _b(credential_list, "credential_list")
        creds = [_b(c, "credential") for c in credentials]
        arr = (_ffi.Slice * max(1, len(creds)))(*[_ffi.Slice(c, len(c)) for c in creds])
        pw, n = _pass(passphrase)
        return cls(_call_handle(_lib.ot_nym_load, lst, len(lst), arr, len(creds), pw, n))

    @classmethod
    def load_dir(
        cls,
        credentials_dir: "Union[str, os.PathLike[str]]",
        nym_id: str,
        passphrase: Optional[BytesLike] = None,
    ) -> "Nym":
        """From a legacy credentials folder: ``<dir>/<nym_id>.cred`` and ``<dir>/<nym_id>/<ID>``
        (``client_data/credentials``, ``server_data/credentials``, ``server_data/pubcred``)."""
        pw, n = _pass(passphrase)
        return cls(
            _call_handle(
                _lib.ot_nym_load_dir,
                _s(os.fspath(credentials_dir), "credentials_dir"),
                _s(nym_id, "nym_id"),
                pw,
                n,
            )
        )

    @property
    def nym_id(self) -> str:
        return _call_text(_lib.ot_nym_id, self.handle)

    @property
    def is_private(self) -> bool:
        return bool(_lib.ot_nym_is_private(self.handle) == 1)

    def __repr__(self) -> str:
        if self.closed:
            return "<ot_transport.Nym closed>"
        return f"<ot_transport.Nym {'private' if self.is_private else 'public'} {self.nym_id}>"


class Contract(_HasKeys):
    """A signed contract whose signature verified through its signer (``ot_contract``): 2013
    (embedded credentials) or 2011 (contract key). A notary's contract names the notary: its
    NymID (``signer_id``), its A and E keys, its ``endpoint``. Immutable."""

    _free_name = "ot_contract_free"
    _key_fn = "ot_contract_key"
    __slots__ = ()

    @classmethod
    def load(cls, text: BytesLike) -> "Contract":
        raw = _b(text)
        return cls(_call_handle(_lib.ot_contract_load, raw, len(raw)))

    @property
    def id(self) -> str:
        """The contract ID (the name legacy OT stored it under)."""
        return _call_text(_lib.ot_contract_id, self.handle)

    @property
    def signer_id(self) -> str:
        """The signer's NymID (a notary contract's: the notary's)."""
        return _call_text(_lib.ot_contract_signer_id, self.handle)

    @property
    def endpoint(self) -> str:
        """``tcp://hostname:port`` from ``<notaryServer>``; ``StateError`` for an asset contract."""
        return _call_text(_lib.ot_contract_endpoint, self.handle)

    def __repr__(self) -> str:
        if self.closed:
            return "<ot_transport.Contract closed>"
        return f"<ot_transport.Contract {self.id} signed by {self.signer_id}>"


__all__ = ["Contract", "KeyRole", "Nym", "RULES", "rule_of", "wallet_master_key"]
