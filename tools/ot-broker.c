/* ot-broker: the notary scale-out broker as a program, for operators.
 *
 *   ot-broker FRONTEND BACKEND [--stats SECONDS]
 *
 * Clients (legacy REQ and v2) connect to FRONTEND, worker notaries (ot_notary_connect) to
 * BACKEND, e.g.  ot-broker tcp://0.0.0.0:7085 tcp://0.0.0.0:7086
 * Runs until SIGINT or SIGTERM; with --stats prints the counters every SECONDS seconds. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ot_transport.h"

static void print_stats(const ot_broker *b) {
  ot_broker_stats s;
  if (ot_broker_get_stats(b, &s) != OT_OK) return;
  printf("workers %llu (dead so far %llu)  requests %llu  replies %llu  pushes %llu  dropped %llu  unroutable %llu\n",
         (unsigned long long)s.workers, (unsigned long long)s.dead_workers, (unsigned long long)s.requests,
         (unsigned long long)s.replies, (unsigned long long)s.pushes, (unsigned long long)s.dropped,
         (unsigned long long)s.unroutable);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int every = 0;
  if (argc == 5 && strcmp(argv[3], "--stats") == 0) every = atoi(argv[4]);
  if (!(argc == 3 || (argc == 5 && every > 0))) {
    fprintf(stderr, "usage: %s FRONTEND BACKEND [--stats SECONDS]\n"
                    "  e.g. %s tcp://0.0.0.0:7085 tcp://0.0.0.0:7086\n", argv[0], argv[0]);
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  /* Block the signals before the broker's thread starts, so only sigtimedwait below sees them. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  ot_broker *b = NULL;
  if (ot_broker_new(argv[1], argv[2], NULL, &b) != OT_OK) {
    fprintf(stderr, "ot-broker: %s\n", ot_last_error());
    return 1;
  }
  ot_buffer *fe = NULL, *be = NULL;
  ot_broker_frontend(b, &fe);
  ot_broker_backend(b, &be);
  printf("ot-broker %s: clients -> %s, workers -> %s\n", ot_version(), (const char *)ot_buffer_data(fe),
         (const char *)ot_buffer_data(be));
  fflush(stdout);
  ot_buffer_free(fe);
  ot_buffer_free(be);
  for (;;) {
    struct timespec t = {every > 0 ? every : 3600, 0};
    int sig = sigtimedwait(&set, NULL, &t);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (every > 0) print_stats(b);
  }
  print_stats(b);
  ot_broker_free(b);
  return 0;
}
