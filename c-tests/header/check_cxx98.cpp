// The public header compiles as C++98 with -pedantic-errors (CMake builds this with -std=c++98).
#include <cstdio>
#include <cstring>

#include "ot_transport.h"

int main() {
  ot_buffer *b = NULL;
  if (ot_id_encode(reinterpret_cast<const uint8_t *>("abc"), 3, &b) != OT_OK) return 1;
  std::printf("C++98: header usable, ot_id_encode(\"abc\") = %s\n",
              reinterpret_cast<const char *>(ot_buffer_data(b)));
  ot_buffer_free(b);
  return std::strlen(ot_version()) > 0 ? 0 : 1;
}
