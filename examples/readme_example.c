#include <ot_transport.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    ot_key *me = NULL, *bob = NULL;
    ot_buffer *bob_id = NULL, *text = NULL, *armor = NULL, *plain = NULL;
    ot_envelope *env = NULL, *in = NULL;
    const char *msg = "<OTmessage>hello</OTmessage>\n";

    if (ot_key_generate(2048, &me) || ot_key_generate(2048, &bob) || ot_key_nym_id(bob, &bob_id)) goto fail;
    /* sign as an OT MESSAGE, seal to Bob, armor */
    if (ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), me, NULL, &text)) goto fail;
    ot_recipient to = { (const char *)ot_buffer_data(bob_id), bob };
    if (ot_envelope_seal(&to, 1, ot_buffer_data(text), ot_buffer_len(text), &env)) goto fail;
    if (ot_envelope_to_armor(env, 1, &armor)) goto fail;
    /* Bob's side: de-armor, open, verify */
    if (ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &in)) goto fail;
    if (ot_envelope_open(in, (const char *)ot_buffer_data(bob_id), bob, &plain)) goto fail;
    if (ot_signed_verify(ot_buffer_data(plain), ot_buffer_len(plain), me, NULL)) goto fail;
    puts("sealed, opened and verified");
fail:
    if (!plain) fprintf(stderr, "error: %s\n", ot_last_error());
    ot_buffer_free(plain); ot_envelope_free(in); ot_buffer_free(armor); ot_envelope_free(env);
    ot_buffer_free(text); ot_buffer_free(bob_id); ot_key_free(bob); ot_key_free(me);
    return plain ? 0 : 1;
}
