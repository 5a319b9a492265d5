"""Shared fixtures: the repository's test data and header, and keys made once per run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import ot_transport as ot

REPO = Path(os.environ.get("OT_TRANSPORT_REPO", Path(__file__).resolve().parents[2]))
DATA = REPO / "tests" / "data"
FIXTURES = DATA / "fixtures"
HEADER = REPO / "include" / "ot_transport.h"


def fixture_bytes(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def elements(doc: str, tag: str, attr: "str | None" = None) -> "list[str]":
    """Text of every <tag ...>...</tag> element (the legacy documents are machine-written and
    regular; a leading newline of the body is dropped, as the C and Rust tests do)."""
    out = []
    for m in re.finditer(rf"<{tag}\b([^>]*)>(.*?)</{tag}>", doc, re.S):
        if attr is None or attr in m.group(1):
            out.append(m.group(2).lstrip("\n"))
    return out


def element(doc: str, tag: str, attr: "str | None" = None) -> str:
    found = elements(doc, tag, attr)
    assert found, f"no <{tag}> element"
    return found[0]


def dearmor_text(armored: "bytes | str") -> str:
    return ot.armor_decode(armored, ot.ArmorKind.STRING).decode("utf-8")


@pytest.fixture(scope="session")
def alice() -> ot.Key:
    return ot.Key.generate(1024)


@pytest.fixture(scope="session")
def bob() -> ot.Key:
    return ot.Key.generate(1024)


@pytest.fixture(scope="session")
def carol() -> ot.Key:
    return ot.Key.generate(1024)


class BrokerKeys:
    """CURVE keys for a broker whose backend admits only listed workers: the backend's pair,
    and one pair for the workers (``options()`` makes a worker's options)."""

    def __init__(self) -> None:
        self.backend_public, self.backend_secret = ot.curve_keypair()
        self.worker_public, self.worker_secret = ot.curve_keypair()

    def broker_args(self) -> dict:
        return {"backend_secret": self.backend_secret, "workers": [self.worker_public]}

    def options(self) -> ot.SessionOptions:
        return ot.SessionOptions().set_curve_client(self.backend_public, self.worker_public, self.worker_secret)
