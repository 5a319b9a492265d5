import threading

import ot_transport as ot

me, bob = ot.Key.generate(2048), ot.Key.generate(2048)
text = ot.sign("MESSAGE", b"<OTmessage>hello</OTmessage>\n", me)  # bytes (or str) in, bytes out
armor = ot.seal([bob], text).to_armor()  # a Key, or (nym_id, key) pairs; "" = key-only entry
plain = ot.Envelope.from_armor(armor).open(bob)  # default NymID: the key's own (bob.nym_id)
assert ot.verify(plain, me.public()) == b"<OTmessage>hello</OTmessage>\n"
try:
    ot.Envelope.from_armor(armor).open(me)
except ot.NoMatchingRecipientError as e:  # one OtError subclass per ot_result code
    print("as someone else:", e.code, e.detail)  # 7, the ot_last_error() text

# A notary on a thread and a client session on loopback.
n_auth, n_enc, c_auth, c_enc = (ot.Key.generate(2048) for _ in range(4))
with ot.Notary("tcp://127.0.0.1:*", n_auth, n_enc) as notary:
    endpoint = notary.endpoint  # wildcard port resolved

    def serve() -> None:
        for req in notary.requests(idle_timeout=10):  # `for req in notary:` runs until close()
            req.reply(b"@" + req.verify(c_auth.public()), c_enc.public())
            return

    server = threading.Thread(target=serve)
    server.start()
    options = ot.SessionOptions(latency_delay_after=0)
    with ot.Session(endpoint, options, identity=(c_auth, c_enc),
                    notary=(n_enc.nym_id, n_enc.public(), n_auth.public())) as session:
        print(session.request(b"<request/>"))  # b'@<request/>\n'
    server.join()
