/* Reading records back from the API's JSON (the inverse of db_json.c), for
 * remote contexts and anything else that receives rendered records. */
#ifndef DAAP_INTERNAL_DB_PARSE_H
#define DAAP_INTERNAL_DB_PARSE_H

#include "db/db.h"

struct json_object;

/* Parse `len` bytes of JSON into a json-c tree (strict, UTF-8 checked).
 * `what` names the document in messages ("daap-server response").
 * @return 0 or DAAP_ERROR (class HTTP) */
int daap__json_parse(struct json_object **out, const char *json, size_t len, const char *what);
/* The same strict parse (one JSON document, valid UTF-8, nothing after it)
 * with the nesting limit and the error code and class of the caller. */
int daap__json_parse_as(struct json_object **out, const char *json, size_t len, int depth,
                        int code, int klass, const char *what);

/* One record as daap_db_to_json() renders it. Unknown members are ignored,
 * so a newer server's additions do not break older clients; the members a
 * record cannot do without (id, name, status) are required. The password
 * comes from "connection" when present.
 * @return 0 or DAAP_ERROR (class HTTP) naming the bad member */
int daap__db_from_json_object(daap_db **out, struct json_object *obj);
int daap__db_from_json(daap_db **out, const char *json, size_t len);

/* A page's "next_cursor" (absent, null or "" give NULL), copied.
 * @return 0 or DAAP_ERROR (class HTTP; `what` names the document) */
int daap__json_next_cursor(char **out, struct json_object *root, const char *what);

/* An event page as daap_db_event_page_to_json() renders it; on failure
 * `out` is left empty. @return 0 or DAAP_ERROR (class HTTP) */
int daap__event_page_from_json(daap_db_event_page *out, const char *json, size_t len);

/* RFC 3339 UTC or offset time ("2024-05-01T12:00:00.123Z") to ms since the
 * epoch. @return 0 or DAAP_EINVALID */
int daap__time_parse(int64_t *out, const char *text);

#endif
