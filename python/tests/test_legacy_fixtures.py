"""The real legacy files (tests/data/fixtures: 2011 and 2013 Open-Transactions sample data), read,
unlocked, opened and verified from Python - the same chains as tests/legacy_fixtures.rs and
c-tests/test_legacy_fixtures.c. Passphrase of the sample data: "test"."""

from __future__ import annotations

import pytest

import ot_transport as ot
from conftest import dearmor_text, element, fixture_bytes

Y13 = "legacy-0.89-2013"
Y11 = "legacy-0.72-2011"
DYEB = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"
VOEQ = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"
T1Q3 = "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
PC23 = "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
LMTA = "lMTANg3U97bwGFJAYKljTXAcy5By6JcLdU4di5AoA4z"
PURSE = f"{Y13}/client_data/purse/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG/{DYEB}/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"


def cred(side: str, nym: str, cid: str) -> str:
    return dearmor_text(fixture_bytes(f"{Y13}/{side}/credentials/{nym}/{cid}"))


def cred_public_key(doc: str, k: str) -> ot.Key:
    return ot.Key.load(dearmor_text(element(doc, "publicInfo", f'key="{k}"')))


@pytest.fixture(scope="module")
def master_key() -> bytes:
    wallet = dearmor_text(fixture_bytes(f"{Y13}/client_data/wallet.xml"))
    cached = element(wallet, "cachedKey")
    with pytest.raises(ot.BadPassphraseError):
        ot.symkey_unlock(cached, b"wrong")
    mk = ot.symkey_unlock(cached, b"test")
    assert len(mk) == 16
    return mk


def test_2013_purse_token_opens_through_the_real_key_chain(master_key: bytes) -> None:
    doc = cred("client_data", DYEB, "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ")
    e_pem = dearmor_text(element(doc, "privateInfo", 'key="E"'))
    with pytest.raises(ot.BadPassphraseError):
        ot.Key.load(e_pem, b"test")  # locked with the raw master key, not the wallet passphrase
    with ot.Key.load(e_pem, master_key) as e_key:
        assert e_key.is_private
        token = element(dearmor_text(fixture_bytes(PURSE)), "token")
        env = ot.Envelope.from_armor(token)
        assert env.recipient_ids == [DYEB]
        assert len(env.to_bytes()) == 1662
        plain = env.open(e_key, DYEB)
        assert len(plain) == 1444
        assert plain.startswith(b"-----BEGIN SIGNED CASH TOKEN-----")
        # Re-armoring gives back the exact legacy text.
        assert env.to_armor(bookends=False).decode() == token
        assert ot.Envelope.from_bytes(env.to_bytes()).open(e_key, DYEB) == plain
        with pytest.raises(ot.NoMatchingRecipientError):
            env.open(e_key)  # the E key's own NymID is not the credential-era Nym's
        # The credential's A key is not the recipient: uniform decrypt failure.
        a_key = ot.Key.load(dearmor_text(element(doc, "privateInfo", 'key="A"')), master_key)
        with pytest.raises(ot.DecryptFailedError):
            env.open(a_key, DYEB)
        with pytest.raises(ot.NoMatchingRecipientError):
            env.open(e_key, "someoneElse")
        # The private A, E, S keys match their published public halves.
        for t in "AES":
            priv = ot.Key.load(dearmor_text(element(doc, "privateInfo", f'key="{t}"')), master_key)
            assert priv.nym_id == cred_public_key(doc, t).nym_id


def test_2013_cert_file_unlocks_with_the_master_key(master_key: bytes) -> None:
    cert = fixture_bytes(f"{Y13}/client_data/certs/{DYEB}")
    assert ot.Key.load(cert, master_key).is_private
    with pytest.raises(ot.BadPassphraseError):
        ot.Key.load(cert, b"test")


def test_2011_mail_message_v0_envelope() -> None:
    key = ot.Key.load(fixture_bytes(f"{Y11}/client_data/certs/{T1Q3}"), "test")
    assert key.nym_id == T1Q3
    outer = ot.verify(fixture_bytes(f"{Y11}/client_data/nyms/{T1Q3}"), key.public())
    payload = dearmor_text(element(outer.decode(), "filePayload"))
    mail = dearmor_text(element(payload, "mailMessage"))
    inner = ot.verify(mail, key)
    env = ot.Envelope.from_armor(element(inner.decode(), "messagePayload"))
    assert env.recipient_ids == [""]  # v0: one entry, no NymID
    plain = env.open(key)
    assert plain == (
        b"Subject:Just testing\nblah blah blah\n\nI can't believe I finally have storage working "
        b"AND I have armored text packing. AND this probably works on Windows now."
    )


@pytest.mark.parametrize("nym", [T1Q3, PC23, LMTA])
def test_2011_cert_files_give_their_nym_ids(nym: str) -> None:
    # T1Q3: encrypted PKCS#8 bundled with certificates; PC23: DEK-Info PEM; LMTA: plain PKCS#8.
    data = fixture_bytes(f"{Y11}/client_data/certs/{nym}")
    k = ot.Key.load(data, b"test")
    assert (k.is_private, k.bits, k.nym_id) == (True, 1024, nym)
    assert k.public().nym_id == nym
    if nym == T1Q3:
        with pytest.raises(ot.BadPassphraseError):
            ot.Key.load(data, b"nope")
        with pytest.raises(ot.BadPassphraseError):
            ot.Key.load(data)


def test_2011_public_key_block_round_trips() -> None:
    block = fixture_bytes(f"{Y11}/client_data/pubkeys/TESTPUBKEYCLI.txt")
    k = ot.Key.load(block)
    assert not k.is_private
    assert k.export(ot.KeyFormat.OT_PUBLIC_UNESCAPED) == block


@pytest.mark.parametrize(
    "cid",
    [
        "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG",
        "7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF",
        "EYGad9FjZWgGKeVbgh2FbA0Hf8oP0XlnRyYCsvSIYKL",
        "JY7kEFnm2c50CGNphdpgnlVo2hOZuLrBua5cFqWWR9Q",
        "XU1Gu6sjcLxg260FmRgrSvRz9L0OohXRSEhlkeSd9j2",
    ],
)
def test_2013_contract_ids(cid: str) -> None:
    text = dearmor_text(fixture_bytes(f"{Y13}/client_data/contracts/{cid}"))
    assert ot.id_of(text.strip()) == cid
    assert ot.id_encode(ot.samy(text.strip())) == cid


@pytest.mark.parametrize(
    "cid",
    [
        "8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp",
        "Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW",
        "XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz",
        "lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa",
    ],
)
def test_2011_contract_ids(cid: str) -> None:
    assert ot.id_of(fixture_bytes(f"{Y11}/client_data/contracts/{cid}")) == cid


def test_credential_era_nym_ids_from_the_nym_id_source() -> None:
    for side, nym, master in [
        ("client_data", DYEB, "T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D"),
        ("server_data", VOEQ, "UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH"),
    ]:
        listing = dearmor_text(fixture_bytes(f"{Y13}/{side}/credentials/{nym}.cred"))
        source = dearmor_text(element(listing, "nymIDSource"))
        assert ot.id_of(source) == nym
        s_key = cred_public_key(cred(side, nym, master), "S")
        assert s_key.export(ot.KeyFormat.OT_PUBLIC) == source.encode()
        assert s_key.nym_id == nym


def test_2013_signatures_verify_with_their_credential_keys() -> None:
    server_s = cred_public_key(cred("server_data", VOEQ, "EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO"), "S")
    client_doc = cred("client_data", DYEB, "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ")
    client_s = cred_public_key(client_doc, "S")
    contract = lambda cid: dearmor_text(fixture_bytes(f"{Y13}/client_data/contracts/{cid}"))  # noqa: E731
    cases = [
        (contract("r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"), server_s, client_s),
        (contract("7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"), client_s, server_s),
        (client_doc, client_s, server_s),
        (dearmor_text(fixture_bytes(PURSE)), client_s, server_s),
    ]
    for text, key, wrong in cases:
        content = ot.verify(text, key)
        assert content == ot.signed_content(text)
        with pytest.raises(ot.BadSignatureError):
            ot.verify(text, wrong)


def test_2011_signed_contracts_and_nym_file() -> None:
    pc23 = ot.Key.load(fixture_bytes(f"{Y11}/client_data/certs/{PC23}"), b"test").public()
    t1q3 = ot.Key.load(fixture_bytes(f"{Y11}/client_data/certs/{T1Q3}"), b"test").public()
    for rel, key, other in [
        ("contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp", pc23, t1q3),
        ("contracts/XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz", pc23, t1q3),
        ("contracts/Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW", t1q3, pc23),
        ("contracts/lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa", t1q3, pc23),
        (f"nyms/{T1Q3}", t1q3, pc23),
    ]:
        text = fixture_bytes(f"{Y11}/client_data/{rel}")
        ot.verify(text, key)
        with pytest.raises(ot.OtError):
            ot.verify(text, other)
