/* A strict parser for flat JSON request bodies.
 *
 * json-c silently keeps the last of duplicate keys and accepts bytes that are
 * not UTF-8, and a request body is a flat object, so requests get this small
 * parser: duplicate keys, bad UTF-8, control characters, trailing garbage and
 * deep nesting are all refused with a message that says where. */
#ifndef DAAP_INTERNAL_REQJSON_H
#define DAAP_INTERNAL_REQJSON_H

#include "common.h"

#define DAAP__REQJSON_MAX_MEMBERS 32
#define DAAP__REQJSON_MAX_DEPTH   32

typedef enum {
    DAAP__RJ_STRING = 1,
    DAAP__RJ_NUMBER,
    DAAP__RJ_BOOL,
    DAAP__RJ_NULL,
    DAAP__RJ_OBJECT,
    DAAP__RJ_ARRAY
} daap__rj_type;

typedef struct {
    char          *key;
    daap__rj_type  type;
    char          *text;  /* decoded string, or the number's or boolean's literal text */
    size_t         text_len;
} daap__rj_member;

typedef struct {
    daap__rj_member members[DAAP__REQJSON_MAX_MEMBERS];
    size_t          count;
} daap__rj_object;

/* Parse a top-level JSON object. DAAP_EINVALID with a field error on "body". */
int daap__reqjson_parse(daap__rj_object *out, const char *json, size_t len);
void daap__reqjson_dispose(daap__rj_object *obj);

/* The JSON type name, for "must be a string, not a number" messages. */
const char *daap__rj_type_name(daap__rj_type t);

#endif
