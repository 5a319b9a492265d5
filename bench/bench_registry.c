/* Cost of the handle registry per call (issue 12 item 2): ot_buffer_len() on a live handle is
 * one registry borrow + give-back around a field read. Measured uncontended, with 8 threads on 8
 * handles, and with 8 threads on ONE shared handle (every borrow hits the same slot word), next
 * to ot_version() (a call that touches no handle) as the call-overhead baseline. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ot_transport.h"

#define THREADS 8

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct {
  const ot_buffer *h;
  long iters;
  size_t sink;
} job;

static void *spin(void *arg) {
  job *j = arg;
  long i;
  for (i = 0; i < j->iters; i++) j->sink += ot_buffer_len(j->h);
  return NULL;
}

static void *spin_version(void *arg) {
  job *j = arg;
  long i;
  for (i = 0; i < j->iters; i++) j->sink += (size_t)ot_version()[0];
  return NULL;
}

static double run(int threads, int shared, void *(*fn)(void *), long iters) {
  pthread_t t[THREADS];
  job jobs[THREADS];
  ot_buffer *bufs[THREADS];
  int i;
  double t0, dt;
  for (i = 0; i < threads; i++) {
    if (ot_id_encode((const unsigned char *)"registry", 8, &bufs[i]) != OT_OK) exit(1);
    jobs[i].h = bufs[shared ? 0 : i];
    jobs[i].iters = iters;
    jobs[i].sink = 0;
  }
  t0 = now_s();
  for (i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, &jobs[i]);
  for (i = 0; i < threads; i++) pthread_join(t[i], NULL);
  dt = now_s() - t0;
  for (i = 0; i < threads; i++) ot_buffer_free(bufs[i]);
  {
    /* CPU nanoseconds per call: wall time x the cores the threads could use / all calls */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int busy = threads < cpus ? threads : (int)cpus;
    return dt * 1e9 * busy / ((double)iters * threads);
  }
}

int main(void) {
  const char *q = getenv("BENCH_QUICK");
  long iters = (q && *q && *q != '0') ? 2000000 : 20000000;
  int round;
  printf("# handle registry cost per call (CPU ns per call: wall time x cores in use / calls)\n");
  printf("case\tns_per_call\n");
  for (round = 0; round < 2; round++) {
    printf("baseline ot_version, 1 thread\t%.1f\n", run(1, 0, spin_version, iters));
    printf("ot_buffer_len, 1 thread\t%.1f\n", run(1, 0, spin, iters));
    printf("ot_buffer_len, %d threads, own handles\t%.1f\n", THREADS, run(THREADS, 0, spin, iters / 4));
    printf("ot_buffer_len, %d threads, one shared handle\t%.1f\n", THREADS, run(THREADS, 1, spin, iters / 4));
  }
  return 0;
}
