/* ot-broker: the notary scale-out broker as a program, for operators.
 *
 *   ot-broker FRONTEND BACKEND --key KEYFILE --workers WORKERFILE [--stats SECONDS]
 *             [--curve-frontend ENDPOINT [--frontend-key KEYFILE]]
 *   ot-broker FRONTEND ipc://PATH [--stats SECONDS]        (a local backend: no keys)
 *   ot-broker --new-key KEYFILE                            (writes a backend key, mode 600)
 *
 * Clients (legacy REQ and v2) connect to FRONTEND, worker notaries (ot_notary_connect with
 * ot_session_options_set_curve_client) to BACKEND, e.g.
 *   ot-broker --new-key /etc/ot/backend.key        # prints the backend's public key
 *   ot-broker tcp://0.0.0.0:7085 tcp://0.0.0.0:7086 --key /etc/ot/backend.key --workers /etc/ot/workers
 * KEYFILE holds the backend's CURVE secret key (Z85) and must be mode 600; WORKERFILE one worker
 * CURVE public key (Z85) per line, optionally followed by a name; a line starting with # is a
 * comment. Any other peer is refused at the CURVE handshake. --curve-frontend adds a CURVE-only
 * frontend (its key from --frontend-key, mode 600, or generated) and prints its public key, for
 * the workers to vouch for (ot_notary_vouch_transport_key): v2 clients then use it by themselves.
 * Runs until SIGINT or SIGTERM; with --stats prints the counters every SECONDS seconds. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ot_transport.h"

static void print_stats(const ot_broker *b) {
  ot_broker_stats s;
  uint64_t refused = 0, unexpected = 0, stalled = 0;
  if (ot_broker_get_stats(b, &s) != OT_OK) return;
  ot_broker_counter(b, "workers_refused", &refused);
  ot_broker_counter(b, "unexpected", &unexpected);
  ot_broker_counter(b, "stalled_workers", &stalled);
  printf("workers %llu (dead so far %llu, stalled %llu, refused %llu)  requests %llu  replies %llu  pushes %llu  "
         "dropped %llu  unroutable %llu  unexpected %llu\n",
         (unsigned long long)s.workers, (unsigned long long)s.dead_workers, (unsigned long long)stalled,
         (unsigned long long)refused, (unsigned long long)s.requests, (unsigned long long)s.replies,
         (unsigned long long)s.pushes, (unsigned long long)s.dropped, (unsigned long long)s.unroutable,
         (unsigned long long)unexpected);
  fflush(stdout);
}

/* Reads the one key line of a key file (mode 600; lines starting with # are comments) into
 * out[41]; 0 on success. */
static int read_key_file(const char *path, char out[41]) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (st.st_mode & 077) {
    fprintf(stderr, "ot-broker: %s is readable by other users: chmod 600 it\n", path);
    return -1;
  }
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char line[256];
  int rc = -1;
  while (fgets(line, sizeof line, f)) {
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0) continue;
    size_t n = strcspn(p, " \t\r\n");
    if (n == 40) {
      memcpy(out, p, 40);
      out[40] = 0;
      rc = 0;
    }
    break;
  }
  fclose(f);
  if (rc) fprintf(stderr, "ot-broker: %s holds no 40-character Z85 key\n", path);
  memset(line, 0, sizeof line);
  return rc;
}

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s FRONTEND BACKEND --key KEYFILE --workers WORKERFILE [--stats SECONDS]\n"
          "          [--curve-frontend ENDPOINT [--frontend-key KEYFILE]]\n"
          "       %s FRONTEND ipc://PATH [--stats SECONDS]      (a local backend: no keys)\n"
          "       %s --new-key KEYFILE                           (a new backend key, mode 600)\n"
          "  e.g. %s tcp://0.0.0.0:7085 tcp://0.0.0.0:7086 --key backend.key --workers workers\n",
          argv0, argv0, argv0, argv0);
  return 2;
}

/* Writes a new CURVE secret key to `path` (created mode 600; an existing file is not replaced)
 * and prints its public key. */
static int new_key(const char *path) {
  ot_buffer *pub = NULL, *sec = NULL;
  if (ot_curve_keypair(&pub, &sec) != OT_OK) {
    fprintf(stderr, "ot-broker: %s\n", ot_last_error());
    return 1;
  }
  int rc = 1;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    perror(path);
  } else {
    FILE *f = fdopen(fd, "w");
    if (f && fprintf(f, "# ot-broker backend CURVE secret key; public key %s\n%s\n",
                     (const char *)ot_buffer_data(pub), (const char *)ot_buffer_data(sec)) > 0 &&
        fclose(f) == 0) {
      printf("%s\n", (const char *)ot_buffer_data(pub));
      rc = 0;
    } else {
      perror(path);
      if (!f) close(fd);
    }
  }
  ot_buffer_free(pub);
  ot_buffer_free(sec);
  return rc;
}

int main(int argc, char **argv) {
  int every = 0;
  const char *key = NULL, *workers = NULL, *curve_front = NULL, *front_key = NULL;
  if (argc == 3 && strcmp(argv[1], "--new-key") == 0) return new_key(argv[2]);
  if (argc < 3) return usage(argv[0]);
  for (int i = 3; i < argc; i += 2) {
    if (i + 1 >= argc) return usage(argv[0]);
    if (strcmp(argv[i], "--stats") == 0 && (every = atoi(argv[i + 1])) > 0) continue;
    if (strcmp(argv[i], "--key") == 0 && !key) key = argv[i + 1];
    else if (strcmp(argv[i], "--workers") == 0 && !workers) workers = argv[i + 1];
    else if (strcmp(argv[i], "--curve-frontend") == 0 && !curve_front) curve_front = argv[i + 1];
    else if (strcmp(argv[i], "--frontend-key") == 0 && !front_key) front_key = argv[i + 1];
    else return usage(argv[0]);
  }
  if (!key != !workers) {
    fprintf(stderr, "ot-broker: --key and --workers go together\n");
    return 2;
  }
  if (front_key && !curve_front) {
    fprintf(stderr, "ot-broker: --frontend-key goes with --curve-frontend\n");
    return 2;
  }
  char front_secret[41] = "";
  if (front_key && read_key_file(front_key, front_secret)) return 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  /* Block the signals before the broker's thread starts, so only sigtimedwait below sees them. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  ot_broker *b = NULL;
  ot_result rc = key ? ot_broker_new_from_files(argv[1], argv[2], NULL, key, workers, &b)
                     : ot_broker_new(argv[1], argv[2], NULL, &b);
  if (rc != OT_OK) {
    fprintf(stderr, "ot-broker: %s\n", ot_last_error());
    return 1;
  }
  ot_buffer *fe = NULL, *be = NULL, *pub = NULL;
  ot_broker_frontend(b, &fe);
  ot_broker_backend(b, &be);
  printf("ot-broker %s: clients -> %s, workers -> %s", ot_version(), (const char *)ot_buffer_data(fe),
         (const char *)ot_buffer_data(be));
  if (ot_broker_backend_public(b, &pub) == OT_OK) printf(" (backend key %s)", (const char *)ot_buffer_data(pub));
  printf("\n");
  fflush(stdout);
  ot_buffer_free(fe);
  ot_buffer_free(be);
  ot_buffer_free(pub);
  if (curve_front) {
    ot_buffer *cf = NULL, *ck = NULL;
    if (ot_broker_bind_curve(b, curve_front, front_key ? front_secret : NULL, &cf, &ck) != OT_OK) {
      fprintf(stderr, "ot-broker: %s\n", ot_last_error());
      memset(front_secret, 0, sizeof front_secret);
      ot_broker_free(b);
      return 1;
    }
    printf("ot-broker: CURVE clients -> %s (frontend key %s)\n", (const char *)ot_buffer_data(cf),
           (const char *)ot_buffer_data(ck));
    fflush(stdout);
    ot_buffer_free(cf);
    ot_buffer_free(ck);
  }
  memset(front_secret, 0, sizeof front_secret);
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
