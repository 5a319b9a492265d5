ot keygen -t rsa -o bob.key --public bob.pub            # RSA-2048 PKCS#8; "NymID: ..." on stderr
ot keygen -t rsa --bits 1024 -o carol.key               # someone else
ot keygen -t ed25519 -o alice.key --public alice.pub    # suite v3 signing key
ot id bob.pub                                           # Bob's NymID (--scheme v3: the SHA256D rule)
echo "hello, Bob" | ot sign -k alice.key > note.signed  # -----BEGIN SIGNED MESSAGE----- (Hash: SHA256D)
ot seal -r bob.pub -i note.signed -o note.env           # armored envelope to Bob (--raw: bytes; -r again: more)
ot inspect note.env                                     # what: envelope, type 1, Bob's NymID
ot open -k bob.key -i note.env | ot verify -k alice.pub # prints "hello, Bob"
ot open -k carol.key -i note.env || echo "exit status $?"  # 7 = OT_ERR_NO_MATCHING_RECIPIENT
