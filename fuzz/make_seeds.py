"""Writes small seed inputs for every fuzz target into fuzz/seeds/<target>/ from the legacy
fixtures in tests/data and from envelopes/frames made with the independent Python peer."""
import os
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fx = os.path.join(root, "tests", "data", "fixtures")
seeds = os.path.join(root, "fuzz", "seeds")
peer = [sys.executable, os.path.join(root, "interop", "legacy_peer.py")]
key = os.path.join(root, "fuzz", "keys", "fuzz_key.pem")


def put(target, name, data):
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(rel):
    with open(os.path.join(fx, rel), "rb") as f:
        return f.read()


Y13 = "legacy-0.89-2013/client_data/"
Y11 = "legacy-0.72-2011/client_data/"
DYEB = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"
wallet = fixture(Y13 + "wallet.xml")
contract = fixture(Y13 + "contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG")
purse = fixture(Y13 + "purse/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG/" + DYEB + "/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF")
put("armor_decode", "wallet", wallet)
put("armor_decode", "purse", purse)
put("armor_decode", "pubkey", fixture(Y11 + "pubkeys/TESTPUBKEYCLI.txt"))
put("armor_decode", "ack", b"eJzjYjYyMQAAAXEApA==")
put("signed_text", "contract2011", fixture(Y11 + "contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"))
put("signed_text", "nymfile2011", fixture(Y11 + "nyms/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"))
for c in ("T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C",
          "lMTANg3U97bwGFJAYKljTXAcy5By6JcLdU4di5AoA4z"):
    put("key_load", "cert2011-" + c[:5], fixture(Y11 + "certs/" + c))
put("key_load", "cert2013", fixture(Y13 + "certs/" + DYEB))
put("key_load", "otpub", fixture(Y11 + "pubkeys/TESTPUBKEYCLI.txt"))
put("id_decode", "nym", DYEB.encode())
put("id_decode", "short", b"48")
put("ini_load", "client.cfg", b"[latency]\nlatency_send_ms=200\nlatency_send_no_tries=7\nlatency_receive_ms=200\n"
    b"latency_receive_no_tries=7\nlatency_delay_after=50\nis_blocking=false\n[ot_transport]\nmax_resends=2\n")
# Credentials and contracts (issue 22): the sample Nyms' lists and credentials, public and
# private, and 2013 and 2011 contracts.
VOEQ = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"
S13 = "legacy-0.89-2013/server_data/"
put("credential_list", "dyeb", fixture(S13 + "pubcred/" + DYEB + ".cred"))
put("credential_list", "voeq", fixture(S13 + "credentials/" + VOEQ + ".cred"))
put("credential", "master-public", fixture(S13 + "pubcred/" + DYEB + "/T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D"))
put("credential", "key-public", fixture(S13 + "pubcred/" + DYEB + "/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ"))
put("credential", "key-private", fixture(Y13 + "credentials/" + DYEB + "/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ"))
put("credential", "master-private", fixture(S13 + "credentials/" + VOEQ + "/UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH"))
put("contract", "notary2013", contract)
put("contract", "asset2013", fixture(Y13 + "contracts/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"))
put("contract", "notary2011", fixture(Y11 + "contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"))
put("contract", "basket2011", fixture(Y11 + "contracts/XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz"))
# The wallet's cached key (data-path armor of an OTSymmetricKey).
start = wallet.find(b"<cachedKey>")
put("symkey_unlock", "wallet-armored", b"CmAAAQCAAAD//wAAAAiVhjOZx+8cwgAAABAq9n2bhvPFT40iIniXRMHdAAAAIOqL\n"
    b"AMk0SR51lGraH57PMPoFopU4FZUFziZy+TPlYgc6AAAAECLydss9nmcXMqOXFbQW\n7+w=\n")

with tempfile.TemporaryDirectory() as t:
    pub = os.path.join(t, "k.pub")
    subprocess.run(peer + ["genkey", "--bits", "1024", "--out", os.path.join(t, "other.pem"), "--pub-out", pub],
                   check=True, stdout=subprocess.DEVNULL)
    msg = os.path.join(t, "msg")
    with open(msg, "wb") as f:
        f.write(b"<OTmessage>\n<checkServerID requestNum=\"1\"/>\n</OTmessage>\n")
    signed = os.path.join(t, "signed")
    subprocess.run(peer + ["sign", "--key", key, "--type", "MESSAGE", "--in", msg, "--out", signed], check=True)
    with open(signed, "rb") as f:
        put("signed_text", "fuzzkey-message", f.read())
    # A request frame sealed to the fuzz key as NymID "notary" (what notary_request opens).
    from_key = subprocess.run(peer + ["nymid", "--key", key], check=True, capture_output=True).stdout
    del from_key
    keypub = os.path.join(t, "fuzz.pub")
    from cryptography.hazmat.primitives import serialization
    with open(key, "rb") as f:
        k = serialization.load_pem_private_key(f.read(), None)
    with open(keypub, "wb") as f:
        f.write(k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    frame = os.path.join(t, "frame")
    subprocess.run(peer + ["seal", "--to", "notary=" + keypub, "--to", "other=" + pub, "--in", signed, "--out", frame],
                   check=True)
    with open(frame, "rb") as f:
        data = f.read()
    put("notary_request", "sealed-request", data)
    put("envelope", "sealed-armor", data)
    env = os.path.join(t, "env")
    subprocess.run(peer + ["seal", "--to", "=" + keypub, "--in", msg, "--out", env, "--bookend"], check=True)
    with open(env, "rb") as f:
        put("envelope", "empty-id-bookended", f.read())
    # Suite v3 seeds: type-3 envelopes to the fuzz X25519 key, SHA256D texts by the fuzz Ed25519
    # key, v3 key files.
    xkey = os.path.join(root, "fuzz", "keys", "fuzz_x25519.pem")
    edkey = os.path.join(root, "fuzz", "keys", "fuzz_ed25519.pem")
    with open(xkey, "rb") as f:
        put("key_load", "x25519-pkcs8", f.read())
    with open(edkey, "rb") as f:
        put("key_load", "ed25519-pkcs8", f.read())
    xpub = os.path.join(t, "x.pub")
    with open(xkey, "rb") as f:
        xk = serialization.load_pem_private_key(f.read(), None)
    with open(xpub, "wb") as f:
        f.write(xk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with open(xpub, "rb") as f:
        put("key_load", "x25519-spki", f.read())
    v3signed = os.path.join(t, "v3signed")
    subprocess.run(peer + ["sign", "--key", edkey, "--type", "MESSAGE", "--in", msg, "--out", v3signed], check=True)
    with open(v3signed, "rb") as f:
        put("signed_text", "v3-sha256d-message", f.read())
    x2 = os.path.join(t, "x2.pem")
    x2pub = os.path.join(t, "x2.pub")
    subprocess.run(peer + ["genkey", "--alg", "x25519", "--out", x2, "--pub-out", x2pub], check=True,
                   stdout=subprocess.DEVNULL)
    frame3 = os.path.join(t, "frame3")
    subprocess.run(peer + ["seal", "--to", "notary=" + xpub, "--to", "other=" + x2pub, "--in", v3signed,
                           "--out", frame3], check=True)
    with open(frame3, "rb") as f:
        data = f.read()
    put("notary_request", "v3-sealed-request", data)
    put("envelope", "v3-sealed-armor", data)
    env3 = os.path.join(t, "env3")
    subprocess.run(peer + ["seal", "--to", "=" + xpub, "--in", msg, "--out", env3, "--bookend"], check=True)
    with open(env3, "rb") as f:
        put("envelope", "v3-empty-id-bookended", f.read())
print("seeds written to", seeds)
