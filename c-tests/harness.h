/* Minimal test harness shared by the C tests. */
#ifndef OT_TEST_HARNESS_H
#define OT_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot_transport.h"

extern int ot_test_failures;
extern int ot_test_checks;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    ot_test_checks++;                                                                \
    if (!(cond)) {                                                                   \
      ot_test_failures++;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,       \
              __LINE__, #cond, ot_last_error());                                     \
    }                                                                                \
  } while (0)

/* Checks that an expression returns the expected ot_result. */
#define CHECK_RC(expr, want)                                                         \
  do {                                                                               \
    ot_result rc_ = (expr);                                                          \
    ot_test_checks++;                                                                \
    if (rc_ != (want)) {                                                             \
      ot_test_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d; detail: %s\n",         \
              __FILE__, __LINE__, #expr, (int)rc_, ot_result_str(rc_), (int)(want),  \
              ot_last_error());                                                      \
    }                                                                                \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, OT_OK)

/* Prints the summary line and returns the process exit code. */
int ot_test_finish(const char *name);

/* Reads a file below OT_TEST_DATA into a NUL-terminated heap buffer; exits on failure. */
char *ot_test_read(const char *rel, size_t *len);

/* Copies the text between "<tag ...>\n" and "</tag>" (first element whose opening tag contains
 * attr, when attr is not NULL) into a new heap string; NULL if absent. */
char *ot_test_element(const char *doc, const char *tag, const char *attr);

/* Buffer content as a NUL-terminated string (ot_buffer always has the NUL). */
#define BUF_STR(b) ((const char *)ot_buffer_data(b))

#endif
