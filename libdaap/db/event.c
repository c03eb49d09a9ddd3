/* The event model: pages of daap_db_event that own their strings, and the
 * names of event types. Pure data; the JSON lives in db_json.c. */
#include "db/event.h"

static const char *const type_names[] = { "normal", "warning" };

const char *daap_db_event_type_name(int type)
{
    return type >= 0 && (size_t)type < DAAP_ARRAY_SIZE(type_names) ? type_names[type] : NULL;
}

int daap__event_type_parse(const char *name)
{
    size_t i;

    for (i = 0; name && i < DAAP_ARRAY_SIZE(type_names); i++)
        if (strcmp(name, type_names[i]) == 0)
            return (int)i;
    return -1;
}

int daap_db_events_options_init(daap_db_events_options *opts, unsigned int version)
{
    DAAP_INIT_VERSIONED(opts, version, DAAP_DB_EVENTS_OPTIONS_VERSION, "daap_db_events_options");
    return 0;
}

/* Every string member of an event, so copy and free walk one list. */
static const char **string_slot(daap_db_event *ev, int i)
{
    const char **slots[] = { &ev->database_id, &ev->reason, &ev->message, &ev->from_status,
                             &ev->to_status, &ev->actor, &ev->request_id };
    return i < (int)DAAP_ARRAY_SIZE(slots) ? slots[i] : NULL;
}

static void event_clear(daap_db_event *ev)
{
    const char **slot;
    int i;

    for (i = 0; (slot = string_slot(ev, i)) != NULL; i++)
        daap__free((char *)*slot);
    memset(ev, 0, sizeof(*ev));
}

static int event_copy(daap_db_event *dst, const daap_db_event *src)
{
    const char **slot;
    int i;

    *dst = *src;
    for (i = 0; (slot = string_slot(dst, i)) != NULL; i++)
        *slot = NULL;
    for (i = 0; (slot = string_slot(dst, i)) != NULL; i++) {
        const char *from = *string_slot((daap_db_event *)src, i);
        if (from && (*slot = daap__strdup(from)) == NULL) {
            event_clear(dst);
            return daap_error_set_oom();
        }
    }
    return 0;
}

int daap_db_event_page_push(daap_db_event_page *page, const daap_db_event *ev)
{
    daap_db_event *grown;

    DAAP_ASSERT_ARG(page && ev);
    grown = daap__realloc(page->items, (page->count + 1) * sizeof(*grown));
    DAAP_ERROR_CHECK_ALLOC(grown);
    page->items = grown;
    DAAP_TRY(event_copy(&page->items[page->count], ev));
    page->count++;
    return 0;
}

void daap__event_page_truncate(daap_db_event_page *page, size_t count)
{
    while (page->count > count)
        event_clear(&page->items[--page->count]);
}

void daap_db_event_page_dispose(daap_db_event_page *page)
{
    if (page == NULL)
        return;
    daap__event_page_truncate(page, 0);
    daap__free(page->items);
    daap__free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}
