/* A notary served by two application threads, and a v2 client with eight requests in flight. */
#include <ot_transport.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct { ot_notary *notary; const ot_key *client_auth, *client_enc; volatile int stop; } server;

static void *serve(void *p) {  /* any number of threads may receive and reply on one notary */
    server *s = p;
    while (!s->stop) {
        ot_request *req = NULL;
        ot_buffer *content = NULL;
        if (ot_notary_receive(s->notary, 100, &req) != OT_OK) continue; /* timeout or unreadable */
        if (ot_request_verify(req, s->client_auth, &content) == OT_OK)
            ot_notary_reply(s->notary, req, ot_buffer_data(content), ot_buffer_len(content), s->client_enc);
        ot_buffer_free(content);
        ot_request_free(req); /* unanswered (bad signature): the client gets the uniform ERR */
    }
    return NULL;
}

int main(void) {
    ot_key *n_auth = NULL, *n_enc = NULL, *c_auth = NULL, *c_enc = NULL;
    ot_buffer *n_id = NULL, *endpoint = NULL, *curve_endpoint = NULL;
    ot_notary *notary = NULL;
    ot_session *session = NULL;
    ot_session_options *opts = NULL;
    server s = {0};
    pthread_t threads[2];
    int started = 0, answered = 0;

    if (ot_key_generate_ed25519(&n_auth) || ot_key_generate_x25519(&n_enc) || ot_key_generate_ed25519(&c_auth) ||
        ot_key_generate_x25519(&c_enc) || ot_key_nym_id(n_enc, &n_id)) goto done;
    const char *nym = (const char *)ot_buffer_data(n_id);
    if (ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, nym, NULL, &notary)) goto done;
    if (ot_notary_endpoint(notary, &endpoint)) goto done;
    /* transport v2 over CURVE: an endpoint under the notary's transport key, which sessions that
     * know the notary's keys find (signed by its identity), verify and move to by themselves */
    if (ot_notary_bind_curve(notary, "tcp://127.0.0.1:*", NULL, &curve_endpoint)) goto done;
    s = (server){notary, c_auth, c_enc, 0};
    for (; started < 2; started++)
        if (pthread_create(&threads[started], NULL, serve, &s)) goto done;

    /* the client: protocol 1 = v2 (a DEALER), requests sent without waiting, replies matched by id */
    if (ot_session_options_new(&opts) || ot_session_options_set(opts, "protocol", 1)) goto done;
    if (ot_session_new((const char *)ot_buffer_data(endpoint), opts, &session)) goto done;
    if (ot_session_set_identity(session, c_auth, c_enc) || ot_session_set_notary(session, nym, n_enc, n_auth)) goto done;
    uint64_t ids[8];
    for (int i = 0; i < 8; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "<OTmessage>request %d</OTmessage>\n", i);
        if (ot_session_send(session, (const uint8_t *)msg, strlen(msg), &ids[i])) goto done;
    }
    while (answered < 8) {
        uint64_t id = 0;
        ot_result status = OT_OK;
        ot_buffer *reply = NULL;
        if (ot_session_receive(session, 10000, &id, &status, &reply)) goto done; /* none within 10 s */
        if (status != OT_OK) { fprintf(stderr, "request %llu: %s\n", (unsigned long long)id, ot_result_str(status)); goto done; }
        printf("request %llu answered: %.*s", (unsigned long long)id, (int)ot_buffer_len(reply),
               (const char *)ot_buffer_data(reply));
        ot_buffer_free(reply);
        answered++;
    }
done:
    if (answered < 8) fprintf(stderr, "error: %s\n", ot_last_error());
    s.stop = 1;
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    ot_session_free(session); ot_session_options_free(opts); ot_notary_free(notary);
    ot_buffer_free(curve_endpoint); ot_buffer_free(endpoint); ot_buffer_free(n_id);
    ot_key_free(c_enc); ot_key_free(c_auth); ot_key_free(n_enc); ot_key_free(n_auth);
    return answered == 8 ? 0 : 1;
}
