#!/usr/bin/env python3
"""Legacy OT peers that speak ZMTP/1.0 over a raw TCP socket, as libzmq 2.x did.

Legacy Open-Transactions was built on libzmq 2.x, whose wire protocol is ZMTP/1.0 (RFC 13), not
the ZMTP/3 of today's libzmq and pyzmq. This file implements that protocol from RFC 13 with
plain sockets (no libzmq), and the OT crypto from legacy_peer.py (itself written from the
specification), so the library is tested against the framing real legacy peers used:

  * frame  = length, flags, body; length = 1 + len(body) as one octet when < 255, else the
    octet 0xFF followed by a 64-bit big-endian length; flags bit 0 = MORE;
  * each side first sends its identity as one frame (anonymous: empty body);
  * a REQ message is an empty delimiter frame (MORE) and the body frame; a REP reply the same.

usage:
  zmtp10.py client --connect tcp://127.0.0.1:PORT ...   (legacy REQ client, keys as legacy_peer)
  zmtp10.py notary --bind tcp://127.0.0.1:PORT ...      (legacy REP notary, one client at a time;
                                                        PORT * binds a free one; the first line of
                                                        stdout is "bound ENDPOINT")
"""
import argparse
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import legacy_peer as lp  # noqa: E402  (the spec-written OT crypto)

MORE = 0x01


def frame(body: bytes, more: bool = False) -> bytes:
    n = len(body) + 1
    head = bytes([n]) if n < 255 else b"\xff" + struct.pack(">Q", n)
    return head + bytes([MORE if more else 0]) + body


def read_exact(sock, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise lp.PeerError("connection closed by the peer")
        out += chunk
    return out


def read_frame(sock, limit: int = 64 << 20):
    first = read_exact(sock, 1)[0]
    n = struct.unpack(">Q", read_exact(sock, 8))[0] if first == 0xFF else first
    if n < 1 or n > limit:
        raise lp.PeerError("bad ZMTP/1.0 frame length %d" % n)
    flags = read_exact(sock, 1)[0]
    return read_exact(sock, n - 1), bool(flags & MORE)


def read_message(sock):
    parts = []
    while True:
        body, more = read_frame(sock)
        parts.append(body)
        if not more:
            return parts


def tcp_addr(ep: str):
    if not ep.startswith("tcp://"):
        raise lp.PeerError("only tcp:// endpoints")
    host, port = ep[len("tcp://"):].rsplit(":", 1)
    return host, 0 if port == "*" else int(port)


def handshake(sock):
    """Sends our anonymous identity and reads the peer's identity frame (a libzmq 4 peer's
    greeting signature FF 00..01 7F reads as exactly that: a frame of length 1)."""
    sock.sendall(frame(b""))
    read_frame(sock)


def cmd_client(a):
    auth = lp.load_private(lp.read_file(a.auth_key), None)
    enc = lp.load_private(lp.read_file(a.enc_key), None)
    n_enc = lp.load_public(lp.read_file(a.notary_enc_pub))
    n_auth = lp.load_public(lp.read_file(a.notary_auth_pub))
    my_id = lp.nym_id(auth.public_key())
    sock = socket.create_connection(tcp_addr(a.connect), timeout=a.timeout_ms / 1000.0)
    try:
        handshake(sock)
        for i in range(a.repeat):
            content = lp.make_content(a.message.encode())
            signed = lp.create_signed(content, "MESSAGE", auth)
            request = lp.armor_data(lp.seal_v1(signed, [(a.notary_nym_id, n_enc)])).encode()
            sock.sendall(frame(b"", more=True) + frame(request))
            parts = read_message(sock)
            if len(parts) != 2 or parts[0] != b"":
                raise lp.PeerError("reply is not [delimiter, body]: %d frames" % len(parts))
            sys.stdout.buffer.write(lp.client_decode_reply(parts[1], enc, n_auth, my_id))
            sys.stdout.flush()
        lp.log("zmtp/1.0 client: %d request(s) answered and verified" % a.repeat)
    finally:
        sock.close()
    return 0


def cmd_notary(a):
    a._auth = lp.load_private(lp.read_file(a.auth_key), None)
    a._enc = lp.load_private(lp.read_file(a.enc_key), None)
    a._client_auth = lp.load_public(lp.read_file(a.client_auth_pub))
    a._client_enc = lp.load_public(lp.read_file(a.client_enc_pub))
    a.plain_reply = False
    a.lenient = False
    host, port = tcp_addr(a.bind)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(4)
    lp.announce_bound("tcp://%s:%d" % (host, srv.getsockname()[1]))
    srv.settimeout(a.timeout_ms / 1000.0)
    served = 0
    try:
        while served < a.count:
            conn, _ = srv.accept()
            conn.settimeout(a.timeout_ms / 1000.0)
            try:
                handshake(conn)
                while served < a.count:
                    parts = read_message(conn)
                    # REQ envelope: anything up to the empty delimiter, then one body frame
                    d = parts.index(b"") if b"" in parts else -1
                    if d < 0 or len(parts) != d + 2:
                        raise lp.PeerError("request is not [.., delimiter, body]")
                    reply = lp.notary_handle(parts[d + 1], a)
                    msg = b"".join(frame(p, more=True) for p in parts[:d])
                    conn.sendall(msg + frame(b"", more=True) + frame(reply))
                    served += 1
            except lp.PeerError as exc:
                lp.log("zmtp/1.0 notary: connection ended: %s" % exc)
            finally:
                conn.close()
        lp.log("zmtp/1.0 notary: %d request(s) served" % served)
    finally:
        srv.close()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("client")
    for k in ("connect", "auth_key", "enc_key", "notary_nym_id", "notary_enc_pub", "notary_auth_pub", "message"):
        p.add_argument("--" + k.replace("_", "-"), required=True, dest=k)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=20000)
    p = sub.add_parser("notary")
    for k in ("bind", "auth_key", "enc_key", "nym_id", "client_auth_pub", "client_enc_pub"):
        p.add_argument("--" + k.replace("_", "-"), required=True, dest=k)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=20000)
    a = ap.parse_args(argv)
    try:
        return cmd_client(a) if a.cmd == "client" else cmd_notary(a)
    except (lp.PeerError, OSError) as exc:
        lp.log("zmtp/1.0 %s failed: %s" % (a.cmd, exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
