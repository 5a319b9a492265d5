#include <ot_transport.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a 2013 client holds: wallet.xml, its Nym's credentials, the notary's contract. No PEM, no
 * XML of its own: the library verifies every credential and signature on the way. (The notary is
 * started here too, from the notary's own files, so the example runs alone; one thread serves both
 * sides because transport v2 sends without waiting.) argv[1]: the 2013 sample data folder. */
static char *slurp(const char *dir, const char *rel, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    *len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    const char *d = argc > 1 ? argv[1] : "tests/data/fixtures/legacy-0.89-2013";
    const char *me_id = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n";
    char dir[1024];
    size_t n;
    ot_buffer *mk = NULL, *nk = NULL, *notary_id = NULL, *ep = NULL, *bound = NULL, *reply = NULL;
    ot_nym *me = NULL, *server = NULL, *client_pub = NULL;
    ot_contract *c = NULL;
    ot_notary *notary = NULL;
    ot_session_options *o = NULL;
    ot_session *s = NULL;
    char *wallet = NULL, *text = NULL, *nfile = NULL;
    const char *msg = "<OTmessage>\n<checkServerID requestNum=\"1\"/>\n</OTmessage>\n";
    uint64_t id, done;
    ot_result status;
    int ok = 0;

    /* Client: the wallet's master key unlocks its Nym's private credentials (verified). */
    wallet = slurp(d, "client_data/wallet.xml", &n);
    if (ot_wallet_master_key((const uint8_t *)wallet, n, (const uint8_t *)"test", 4, &mk)) goto fail;
    snprintf(dir, sizeof dir, "%s/client_data/credentials", d);
    if (ot_nym_load_dir(dir, me_id, ot_buffer_data(mk), ot_buffer_len(mk), &me)) goto fail;
    /* The notary's contract: its signer's embedded credentials and signature are verified. */
    text = slurp(d, "client_data/contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG", &n);
    if (ot_contract_load((const uint8_t *)text, n, &c)) goto fail;
    if (ot_contract_signer_id(c, &notary_id) || ot_contract_endpoint(c, &ep)) goto fail;
    printf("notary %s at %s\n", (const char *)ot_buffer_data(notary_id), (const char *)ot_buffer_data(ep));

    /* Notary (normally another machine): its own credentials, its master-key file, and the
     * public credentials of its clients. */
    nfile = slurp(d, "server_data/notaryServer.xml", &n);
    if (ot_wallet_master_key((const uint8_t *)nfile, n, (const uint8_t *)"test", 4, &nk)) goto fail;
    snprintf(dir, sizeof dir, "%s/server_data/credentials", d);
    if (ot_nym_load_dir(dir, (const char *)ot_buffer_data(notary_id), ot_buffer_data(nk), ot_buffer_len(nk),
                        &server)) goto fail;
    snprintf(dir, sizeof dir, "%s/server_data/pubcred", d);
    if (ot_nym_load_dir(dir, me_id, NULL, 0, &client_pub)) goto fail;
    if (ot_notary_new_from_nym("tcp://127.0.0.1:*", server, NULL, &notary)) goto fail;
    if (ot_notary_endpoint(notary, &bound)) goto fail;

    /* Client: one call sets the notary from the contract (NymID, A and E keys; the endpoint too,
     * here replaced by the test notary's port), one call the identity from the Nym. */
    if (ot_session_options_new(&o) || ot_session_options_set(o, "protocol", 1)) goto fail;
    if (ot_session_new_from_contract(c, (const char *)ot_buffer_data(bound), o, &s)) goto fail;
    if (ot_session_set_identity_nym(s, me)) goto fail;
    if (ot_session_send(s, (const uint8_t *)msg, strlen(msg), &id)) goto fail;

    { /* Notary: verify the request with the client's A key, reply sealed to its E key. */
        ot_request *req = NULL;
        ot_key *a = NULL, *e = NULL;
        ot_buffer *content = NULL;
        ot_result rc = ot_notary_receive(notary, 10000, &req);
        if (!rc) rc = ot_nym_key(client_pub, OT_KEY_ROLE_AUTH, &a);
        if (!rc) rc = ot_nym_key(client_pub, OT_KEY_ROLE_ENCRYPTION, &e);
        if (!rc) rc = ot_request_verify(req, a, &content);
        if (!rc) rc = ot_notary_reply(notary, req, ot_buffer_data(content), ot_buffer_len(content), e);
        ot_buffer_free(content); ot_key_free(e); ot_key_free(a); ot_request_free(req);
        if (rc) goto fail;
    }
    /* Client: the reply, opened and verified against the notary's key from the contract. */
    if (ot_session_receive(s, 10000, &done, &status, &reply) || status || done != id) goto fail;
    printf("verified reply from the notary:\n%s", (const char *)ot_buffer_data(reply));
    ok = 1;
fail:
    if (!ok) fprintf(stderr, "error: %s\n", ot_last_error());
    ot_buffer_free(reply); ot_session_free(s); ot_session_options_free(o); ot_buffer_free(bound);
    ot_notary_free(notary); ot_nym_free(client_pub); ot_nym_free(server); ot_buffer_free(nk);
    ot_buffer_free(ep); ot_buffer_free(notary_id); ot_contract_free(c); ot_nym_free(me); ot_buffer_free(mk);
    free(nfile); free(text); free(wallet);
    return ok ? 0 : 1;
}
