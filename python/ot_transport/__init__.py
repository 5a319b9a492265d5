"""ot_transport: Python binding of libot_transport (legacy Open-Transactions message protection
and ZeroMQ transport) through its C ABI, with ctypes.

The shared library is found through ``$OT_TRANSPORT_LIB`` (a path), else the copy bundled next to
this package (wheels from ``scripts/build-wheel``), else the system loader path
(``libot_transport.so.1``, e.g. after ``cmake --install``).

Bytes in and out: data arguments accept ``bytes``/``bytearray``/``memoryview`` (and ``str``,
encoded as UTF-8); data results are ``bytes``; identifiers (NymIDs, IDs, endpoints, Z85 keys) are
``str``. Every failing call raises a subclass of ``OtError`` named after its ``ot_result`` code,
carrying ``code`` and the library's ``ot_last_error()`` text (``detail``). Objects that own a
library handle (``Key``, ``Envelope``, ``SessionOptions``, ``Session``, ``Notary``, ``Request``,
``Nym``, ``Contract``)
free it on ``close()``, at the end of a ``with`` block, or when garbage-collected.
"""

from ._errors import (
    ERRORS,
    BadPassphraseError,
    BadSignatureError,
    DecryptFailedError,
    InternalError,
    InvalidArgumentError,
    KeyFormatError,
    MalformedError,
    NoMatchingRecipientError,
    NullArgumentError,
    OtError,
    StateError,
    TimeoutError,
    TransportError,
    UnsupportedError,
)
from ._api import *  # noqa: F401,F403
from ._api import __all__ as _api_all
from ._credentials import *  # noqa: F401,F403
from ._credentials import __all__ as _credentials_all

__version__ = "0.1.0"

__all__ = list(_api_all) + list(_credentials_all) + [
    "ERRORS",
    "BadPassphraseError",
    "BadSignatureError",
    "DecryptFailedError",
    "InternalError",
    "InvalidArgumentError",
    "KeyFormatError",
    "MalformedError",
    "NoMatchingRecipientError",
    "NullArgumentError",
    "OtError",
    "StateError",
    "TransportError",
    "UnsupportedError",
]
