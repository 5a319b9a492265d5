"""One exception class per ``ot_result`` code (``include/ot_transport.h``)."""

from __future__ import annotations

import builtins
from typing import Dict, Type


class OtError(Exception):
    """A failed library call. ``code`` is the ``ot_result`` value, ``name`` its C name,
    ``detail`` the library's ``ot_last_error()`` text for the call (never secret material)."""

    code: int = -1
    name: str = "OT_ERR_UNKNOWN"

    def __init__(self, detail: str = "", code: "int | None" = None, summary: str = "") -> None:
        if code is not None:
            self.code = code
        self.detail = detail
        self.summary = summary
        text = summary or self.name
        super().__init__(f"{text}: {detail}" if detail else text)


class NullArgumentError(OtError):
    """OT_ERR_NULL_ARGUMENT: a required pointer argument was NULL."""

    code, name = 1, "OT_ERR_NULL_ARGUMENT"


class InvalidArgumentError(OtError):
    """OT_ERR_INVALID_ARGUMENT: an argument is out of range or inconsistent (also a closed or
    wrong-type handle)."""

    code, name = 2, "OT_ERR_INVALID_ARGUMENT"


class MalformedError(OtError):
    """OT_ERR_MALFORMED: input bytes or text do not have the expected structure."""

    code, name = 3, "OT_ERR_MALFORMED"


class KeyFormatError(OtError):
    """OT_ERR_KEY_FORMAT: key material in no supported format, or unusable."""

    code, name = 4, "OT_ERR_KEY_FORMAT"


class BadPassphraseError(OtError):
    """OT_ERR_BAD_PASSPHRASE: the passphrase is missing or wrong."""

    code, name = 5, "OT_ERR_BAD_PASSPHRASE"


class DecryptFailedError(OtError):
    """OT_ERR_DECRYPT_FAILED: an envelope could not be opened (uniform on purpose)."""

    code, name = 6, "OT_ERR_DECRYPT_FAILED"


class NoMatchingRecipientError(OtError):
    """OT_ERR_NO_MATCHING_RECIPIENT: the envelope has no entry for the NymID."""

    code, name = 7, "OT_ERR_NO_MATCHING_RECIPIENT"


class BadSignatureError(OtError):
    """OT_ERR_BAD_SIGNATURE: a signature did not verify with the given key."""

    code, name = 8, "OT_ERR_BAD_SIGNATURE"


class TimeoutError(OtError, builtins.TimeoutError):  # noqa: A001 - named after OT_ERR_TIMEOUT
    """OT_ERR_TIMEOUT: a network operation did not complete in the configured time. Also a
    built-in ``TimeoutError``, so ``except TimeoutError`` catches it either way; it is left out of
    ``from ot_transport import *`` so that it never shadows the built-in."""

    code, name = 9, "OT_ERR_TIMEOUT"


class TransportError(OtError):
    """OT_ERR_TRANSPORT: ZeroMQ or the peer failed."""

    code, name = 10, "OT_ERR_TRANSPORT"


class InternalError(OtError):
    """OT_ERR_INTERNAL: a bug or an environment failure inside the library."""

    code, name = 11, "OT_ERR_INTERNAL"


class StateError(OtError):
    """OT_ERR_STATE: the call is not valid in the object's current state."""

    code, name = 12, "OT_ERR_STATE"


class UnsupportedError(OtError):
    """OT_ERR_UNSUPPORTED: a recognised but unsupported feature."""

    code, name = 13, "OT_ERR_UNSUPPORTED"


#: ``ot_result`` code -> exception class.
ERRORS: Dict[int, Type[OtError]] = {
    cls.code: cls
    for cls in (
        NullArgumentError,
        InvalidArgumentError,
        MalformedError,
        KeyFormatError,
        BadPassphraseError,
        DecryptFailedError,
        NoMatchingRecipientError,
        BadSignatureError,
        TimeoutError,
        TransportError,
        InternalError,
        StateError,
        UnsupportedError,
    )
}


def error_for(code: int, detail: str, summary: str = "") -> OtError:
    """The exception for a result code; a code newer than this binding gives a plain OtError."""
    cls = ERRORS.get(code)
    if cls is None:
        return OtError(detail, code=code, summary=summary)
    return cls(detail, summary=summary)
