#include "harness.h"

int ot_test_failures = 0;
int ot_test_checks = 0;

int ot_test_finish(const char *name) {
  printf("%s: %d checks, %d passed, %d failed\n", name, ot_test_checks,
         ot_test_checks - ot_test_failures, ot_test_failures);
  return ot_test_failures == 0 ? 0 : 1;
}

char *ot_test_read(const char *rel, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", OT_TEST_DATA, rel);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = (size_t)n;
  return buf;
}

char *ot_test_element(const char *doc, const char *tag, const char *attr) {
  char open[256], close[256];
  snprintf(open, sizeof open, "<%s", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *p = doc;
  while ((p = strstr(p, open)) != NULL) {
    const char *gt = strchr(p, '>');
    if (!gt) return NULL;
    int match = 1;
    if (attr) {
      size_t head = (size_t)(gt - p);
      char *h = malloc(head + 1);
      memcpy(h, p, head);
      h[head] = 0;
      match = strstr(h, attr) != NULL;
      free(h);
    }
    const char *body = gt + 1;
    if (*body == '\n') body++;
    const char *end = strstr(body, close);
    if (!end) return NULL;
    if (match) {
      size_t n = (size_t)(end - body);
      char *out = malloc(n + 1);
      memcpy(out, body, n);
      out[n] = 0;
      return out;
    }
    p = end;
  }
  return NULL;
}
