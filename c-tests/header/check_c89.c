/* The public header compiles as C89 with -pedantic-errors (CMake builds this with -std=c89),
 * and the version macros agree with the library at run time. */
#include <stdio.h>
#include <string.h>

#include "ot_transport.h"

int main(void) {
  char want[32];
  ot_result rc = OT_OK;
  sprintf(want, "%d.%d.%d", OT_TRANSPORT_VERSION_MAJOR, OT_TRANSPORT_VERSION_MINOR,
          OT_TRANSPORT_VERSION_PATCH);
  if (strcmp(ot_version(), want) != 0) {
    fprintf(stderr, "header says %s, library says %s\n", want, ot_version());
    return 1;
  }
  if (rc != OT_OK || OT_RESULT_MAX < 13) return 1;
  printf("C89: header and library agree on %s\n", want);
  return 0;
}
