"""Credentials, Nyms and contracts from Python, on the real 2013 and 2011 legacy files: the same
chains as tests/credentials.rs and c-tests/test_credentials.c, tampered variants refused with the
rule named, and a client holding only its legacy files talking to a notary configured from the
server's own files."""

from __future__ import annotations

import threading

import pytest

import ot_transport as ot
from conftest import FIXTURES, dearmor_text, fixture_bytes

Y13 = "legacy-0.89-2013"
DYEB = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"
VOEQ = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"
SERVER_CONTRACT = "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"
ASSET_CONTRACT = "7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"
D13 = FIXTURES / Y13


@pytest.fixture(scope="module")
def client_key() -> bytes:
    return ot.wallet_master_key(fixture_bytes(f"{Y13}/client_data/wallet.xml"), "test")


@pytest.fixture(scope="module")
def notary_key() -> bytes:
    return ot.wallet_master_key(fixture_bytes(f"{Y13}/server_data/notaryServer.xml"), "test")


def test_wallets(client_key: bytes, notary_key: bytes) -> None:
    assert len(client_key) == len(notary_key) == 16 and client_key != notary_key
    with pytest.raises(ot.BadPassphraseError):
        ot.wallet_master_key(fixture_bytes(f"{Y13}/client_data/wallet.xml"), "TEST")
    with pytest.raises(ot.UnsupportedError):
        ot.wallet_master_key(b"<wallet/>", "test")


def test_client_nym(client_key: bytes) -> None:
    me = ot.Nym.load_dir(D13 / "client_data" / "credentials", DYEB, client_key)
    public = ot.Nym.load_dir(D13 / "server_data" / "pubcred", DYEB)
    assert me.nym_id == public.nym_id == DYEB
    assert me.is_private and not public.is_private
    for role in ot.KeyRole:
        mine, theirs = me.key(role), public.key(role)
        assert mine.is_private and not theirs.is_private
        assert mine.nym_id == theirs.nym_id
    assert me.auth.nym_id != me.encryption.nym_id != me.signing.nym_id
    assert "private" in repr(me)
    # What the private A key signs, the public Nym's A key verifies.
    assert ot.verify(ot.sign("MESSAGE", "<x/>\n", me.auth), public.auth) == b"<x/>\n"
    with pytest.raises(ot.BadPassphraseError):
        ot.Nym.load_dir(D13 / "client_data" / "credentials", DYEB, "test")
    with pytest.raises(ot.InvalidArgumentError):
        ot.Nym.load_dir(D13 / "client_data" / "credentials", "../x")


def test_nym_from_bytes_and_tampered_variants() -> None:
    base = f"{Y13}/server_data/pubcred/{DYEB}"
    lst = fixture_bytes(f"{base}.cred")
    master = fixture_bytes(f"{base}/T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D")
    key = fixture_bytes(f"{base}/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ")
    assert ot.Nym.load(lst, [key, master]).nym_id == DYEB
    with pytest.raises(ot.BadSignatureError) as e:
        ot.Nym.load(lst, [master])
    assert ot.rule_of(e.value) == "MISSING"
    other = fixture_bytes(f"{Y13}/server_data/credentials/{VOEQ}/EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO")
    with pytest.raises(ot.BadSignatureError) as e:
        ot.Nym.load(lst, [master, other])
    assert ot.rule_of(e.value) == "CRED_ID"
    # The list's source replaced by voeq's: NYMID.
    text = dearmor_text(lst)
    voeq_list = dearmor_text(fixture_bytes(f"{Y13}/server_data/credentials/{VOEQ}.cred"))
    cut = lambda t: t[t.index("<nymIDSource>"):t.index("</nymIDSource>")]  # noqa: E731
    bad = text.replace(cut(text), cut(voeq_list))
    with pytest.raises(ot.BadSignatureError) as e:
        ot.Nym.load(bad, [master, key])
    assert ot.rule_of(e.value) == "NYMID"
    with pytest.raises(ot.MalformedError) as e:
        ot.Nym.load(b"not a list", [])
    assert ot.rule_of(e.value) is None


def test_contracts(notary_key: bytes) -> None:
    c = ot.Contract.load(fixture_bytes(f"{Y13}/client_data/contracts/{SERVER_CONTRACT}"))
    assert (c.id, c.signer_id, c.endpoint) == (SERVER_CONTRACT, VOEQ, "tcp://localhost:7085")
    server = ot.Nym.load_dir(D13 / "server_data" / "credentials", VOEQ, notary_key)
    for role in ot.KeyRole:
        assert c.key(role).nym_id == server.key(role).nym_id and not c.key(role).is_private
    asset = ot.Contract.load(fixture_bytes(f"{Y13}/client_data/contracts/{ASSET_CONTRACT}"))
    assert asset.signer_id == DYEB
    with pytest.raises(ot.StateError):
        asset.endpoint
    # Re-signed by another key: CONTRACT_SIG.
    plain = dearmor_text(fixture_bytes(f"{Y13}/client_data/contracts/{SERVER_CONTRACT}"))
    content = ot.signed_content(plain)
    forged = ot.sign("CONTRACT", content, server.auth)
    with pytest.raises(ot.BadSignatureError) as e:
        ot.Contract.load(forged)
    assert ot.rule_of(e.value) == "CONTRACT_SIG"
    assert ot.Contract.load(ot.sign("CONTRACT", content, server.signing)).signer_id == VOEQ
    old = ot.Contract.load(fixture_bytes("legacy-0.72-2011/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"))
    assert old.signer_id == "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
    assert old.auth.nym_id == old.encryption.nym_id == old.signer_id


def test_a_client_with_only_its_legacy_files_talks_to_a_notary_from_its_own_files(
    client_key: bytes, notary_key: bytes
) -> None:
    # Notary: server_data only.
    server = ot.Nym.load_dir(D13 / "server_data" / "credentials", VOEQ, notary_key)
    client_public = ot.Nym.load_dir(D13 / "server_data" / "pubcred", DYEB)
    with pytest.raises(ot.InvalidArgumentError):
        ot.Notary.from_nym("tcp://127.0.0.1:*", client_public)
    with ot.Notary.from_nym("tcp://127.0.0.1:*", server) as notary:
        endpoint = notary.endpoint

        def serve() -> None:
            for req in notary.requests(idle_timeout=20):
                req.reply(b"@" + req.verify(client_public.auth), client_public.encryption)
                return

        t = threading.Thread(target=serve)
        t.start()
        # Client: client_data only.
        me = ot.Nym.load_dir(D13 / "client_data" / "credentials", DYEB, client_key)
        contract = ot.Contract.load(fixture_bytes(f"{Y13}/client_data/contracts/{SERVER_CONTRACT}"))
        options = ot.SessionOptions(latency_delay_after=0, request_timeout_ms=20000)
        with ot.Session.from_contract(contract, endpoint, options, identity=me) as s:
            assert s.request(b"<OTmessage>hello</OTmessage>\n") == b"@<OTmessage>hello</OTmessage>\n"
        t.join()
    with pytest.raises(ot.InvalidArgumentError):
        ot.Session.from_contract(contract, endpoint).set_identity_nym(client_public)
