#include <ot_transport.h>
#include <stdio.h>
#include <string.h>

/* Suite v3: Alice signs with her Ed25519 (A) key and seals to Bob's X25519 (E) key; the keys
 * choose Hash: SHA256D and envelope type 3. Bob's NymID is the one of his Ed25519 key. */
int main(void) {
    ot_key *alice_a = NULL, *bob_a = NULL, *bob_e = NULL, *bob_e_pub = NULL;
    ot_buffer *bob_id = NULL, *text = NULL, *armor = NULL, *plain = NULL, *content = NULL;
    ot_envelope *env = NULL, *in = NULL;
    const char *msg = "<OTmessage>hello, v3</OTmessage>\n";

    if (ot_key_generate_ed25519(&alice_a) || ot_key_generate_ed25519(&bob_a) ||
        ot_key_generate_x25519(&bob_e) || ot_key_public(bob_e, &bob_e_pub) ||
        ot_key_nym_id(bob_a, &bob_id)) goto fail;
    /* Ed25519 signer -> "Hash: SHA256D", pure Ed25519 over SHA256D(type || LF || content) */
    if (ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), alice_a, NULL, &text)) goto fail;
    /* X25519 recipient -> type 3 (HPKE-wrapped key, ChaCha20-Poly1305 payload) */
    ot_recipient to = { (const char *)ot_buffer_data(bob_id), bob_e_pub };
    if (ot_envelope_seal(&to, 1, ot_buffer_data(text), ot_buffer_len(text), &env)) goto fail;
    if (ot_envelope_to_armor(env, 1, &armor)) goto fail;
    /* Bob: de-armor, open with his X25519 private key, verify with Alice's Ed25519 key */
    if (ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &in)) goto fail;
    int32_t type = 0;
    if (ot_envelope_type(in, &type) || type != 3) goto fail;
    if (ot_envelope_open(in, (const char *)ot_buffer_data(bob_id), bob_e, &plain)) goto fail;
    if (ot_signed_verify(ot_buffer_data(plain), ot_buffer_len(plain), alice_a, &content)) goto fail;
    printf("v3: sealed, opened and verified: %s", (const char *)ot_buffer_data(content));
fail:
    if (!content) fprintf(stderr, "error: %s\n", ot_last_error());
    ot_buffer_free(content); ot_buffer_free(plain); ot_envelope_free(in); ot_buffer_free(armor);
    ot_envelope_free(env); ot_buffer_free(text); ot_buffer_free(bob_id); ot_key_free(bob_e_pub);
    ot_key_free(bob_e); ot_key_free(bob_a); ot_key_free(alice_a);
    return content ? 0 : 1;
}
