/* The event model (event.c): type names and page helpers shared by the
 * storage backends, the engines and the renderers. */
#ifndef DAAP_INTERNAL_EVENT_H
#define DAAP_INTERNAL_EVENT_H

#include "common.h"
#include <daap/sys/db.h>

/* Page sizes of daap_db_events(). */
#define DAAP__EVENTS_LIMIT_DEFAULT 50
#define DAAP__EVENTS_LIMIT_MAX     200

/* The daap_db_event_type of a name ("normal", "warning"), or -1. */
int daap__event_type_parse(const char *name);

/* Free the events past the first `count`. */
void daap__event_page_truncate(daap_db_event_page *page, size_t count);

#endif
