"""Every ot_result code arrives as its own OtError subclass, raised by a bad input, carrying the
code and the library's ot_last_error() text."""

from __future__ import annotations

import threading

import pytest

import ot_transport as ot
from conftest import FIXTURES


def fast_options(**extra: int) -> ot.SessionOptions:
    values = dict(
        latency_send_ms=50,
        latency_send_no_tries=2,
        latency_receive_ms=50,
        latency_receive_no_tries=2,
        latency_delay_after=0,
        max_resends=0,
    )
    values.update(extra)
    return ot.SessionOptions(**values)


def check(exc: pytest.ExceptionInfo, cls: type, words: str) -> None:
    e = exc.value
    assert type(e) is cls
    assert e.code == cls.code and isinstance(e, ot.OtError)
    assert e.detail and words in e.detail.lower(), e.detail
    assert e.detail == ot.last_error()  # same thread, nothing failed since
    assert str(e).startswith(ot.result_str(e.code))


def test_null_argument() -> None:
    with pytest.raises(ot.NullArgumentError) as e:
        ot.id_decode(None)  # type: ignore[arg-type]
    check(e, ot.NullArgumentError, "null")


def test_invalid_argument(alice: ot.Key) -> None:
    with pytest.raises(ot.InvalidArgumentError) as e:
        ot.Key.generate(1000)
    check(e, ot.InvalidArgumentError, "bits")
    with pytest.raises(ot.InvalidArgumentError):
        ot.SessionOptions().set("no_such_option", 1)
    with pytest.raises(ot.InvalidArgumentError):
        ot.SessionOptions().set("latency_send_no_tries", 0)


def test_malformed() -> None:
    with pytest.raises(ot.MalformedError) as e:
        ot.Envelope.from_bytes(b"\x00\x01garbage")
    check(e, ot.MalformedError, "")
    with pytest.raises(ot.MalformedError):
        ot.armor_decode(b"-----BEGIN OT ARMORED ENVELOPE-----\n!!!\n-----END OT ARMORED ENVELOPE-----\n")
    with pytest.raises(ot.MalformedError):
        ot.id_decode("not+base62")
    with pytest.raises(ot.MalformedError):
        ot.signed_content(b"just some text\n")


def test_key_format() -> None:
    with pytest.raises(ot.KeyFormatError) as e:
        ot.Key.load(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    check(e, ot.KeyFormatError, "")
    with pytest.raises(ot.KeyFormatError):
        ot.Key.load(b"hello")


def test_bad_passphrase() -> None:
    cert = (FIXTURES / "legacy-0.72-2011/client_data/certs/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV").read_bytes()
    with pytest.raises(ot.BadPassphraseError) as e:
        ot.Key.load(cert, b"not the passphrase")
    check(e, ot.BadPassphraseError, "passphrase")
    assert b"not the passphrase" not in str(e.value).encode()  # never secret material


def test_decrypt_failed(alice: ot.Key, bob: ot.Key) -> None:
    env = ot.seal(("X", alice), b"for alice")
    with pytest.raises(ot.DecryptFailedError) as e:
        env.open(bob, "X")
    check(e, ot.DecryptFailedError, "")


def test_no_matching_recipient(alice: ot.Key, bob: ot.Key) -> None:
    with pytest.raises(ot.NoMatchingRecipientError) as e:
        ot.seal(alice, b"x").open(bob)
    check(e, ot.NoMatchingRecipientError, "no entry")


def test_bad_signature(alice: ot.Key, bob: ot.Key) -> None:
    with pytest.raises(ot.BadSignatureError) as e:
        ot.verify(ot.sign("MESSAGE", b"x", alice), bob)
    check(e, ot.BadSignatureError, "")


def test_timeout(alice: ot.Key) -> None:
    with ot.Notary("tcp://127.0.0.1:*", alice, alice) as n:
        with pytest.raises(ot.TimeoutError) as e:
            n.receive(0.05)
        check(e, ot.TimeoutError, "")
        assert isinstance(e.value, TimeoutError)  # the built-in, too
        assert str(e.value).startswith(ot.result_str(ot.TimeoutError.code))
        star: dict = {}
        exec("from ot_transport import *", star)
        assert "TimeoutError" not in star and "OtError" in star


def test_transport_error_from_a_notary_error_reply(alice: ot.Key, bob: ot.Key) -> None:
    # The client seals to a NymID the notary does not have: the notary cannot open the request
    # and, with reply_errors, answers with a signed error, which the client reports as TRANSPORT.
    with ot.Notary("tcp://127.0.0.1:*", alice, alice, options=fast_options(reply_errors=1)) as n:
        endpoint = n.endpoint  # before another thread uses the notary
        seen: list = []
        done = threading.Event()

        def serve() -> None:
            # The notary keeps receiving: its answer to an unreadable request goes out after the
            # uniform delay, from inside receive().
            while not done.is_set():
                try:
                    n.receive(0.02)
                except ot.TimeoutError:
                    pass
                except ot.OtError as err:
                    seen.append(err)

        t = threading.Thread(target=serve)
        t.start()
        with ot.Session(endpoint, fast_options(latency_receive_ms=2000)) as s:
            s.set_identity(bob, bob)
            s.set_notary("wrongNymID", alice.public(), alice.public())
            with pytest.raises(ot.TransportError) as e:
                s.request(b"<hello/>")
            check(e, ot.TransportError, "could not be read")
        done.set()
        t.join()
        assert [type(x) for x in seen] == [ot.NoMatchingRecipientError]


def test_state(alice: ot.Key) -> None:
    with ot.Session("tcp://127.0.0.1:1", fast_options()) as s:
        with pytest.raises(ot.StateError) as e:
            s.request(b"no identity yet")
        check(e, ot.StateError, "")


def test_unsupported(alice: ot.Key) -> None:
    text = ot.sign("MESSAGE", b"x", alice).replace(b"Hash: SAMY", b"Hash: SHA1")
    with pytest.raises(ot.UnsupportedError) as e:
        ot.verify(text, alice)
    check(e, ot.UnsupportedError, "sha1")


def test_internal_has_its_class_but_no_input_causes_it() -> None:
    # OT_ERR_INTERNAL is a bug or an environment failure (RNG, caught panic): no bad input may
    # produce it, so only the mapping is checked here.
    e = ot._errors.error_for(11, "detail")
    assert type(e) is ot.InternalError and e.code == 11 and "detail" in str(e)


def test_unknown_future_code_is_a_plain_oterror() -> None:
    e = ot._errors.error_for(99, "newer library")
    assert type(e) is ot.OtError and e.code == 99


def test_closed_handle_and_wrong_type() -> None:
    k = ot.Key.generate(1024)
    env = ot.seal(k, b"x")
    # A handle of the wrong type, passed through the raw table, is refused by the library.
    out = ot._api.ctypes.c_void_p()
    assert ot.lib.ot_key_nym_id(env.handle, ot._api.ctypes.byref(out)) == ot.InvalidArgumentError.code
    assert out.value is None  # outputs are written only on success
    k.close()
    with pytest.raises(ValueError):
        env.open(k)
