# Turn docs/openapi.json into server/openapi_doc.c: one byte array plus its
# length, so the binary serves the exact document in the repository.
#   cmake -DIN=docs/openapi.json -DOUT=openapi_doc.c -P EmbedOpenAPI.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR size "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT}.tmp
  "/* Generated from docs/openapi.json by server/EmbedOpenAPI.cmake; do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const char daap_server_openapi[];\n"
  "extern const size_t daap_server_openapi_len;\n"
  "const char daap_server_openapi[] = {${bytes}0x00};\n"
  "const size_t daap_server_openapi_len = ${size};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
