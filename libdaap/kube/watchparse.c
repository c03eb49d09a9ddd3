/* Incremental parsing of a watch stream: json_tokener keeps the state of a
 * half-received event between chunks; whole events wait in a queue. */
#include "kube/watchparse.h"
#include "kube/kube_object.h"

#include <stdio.h>
#include <json-c/json.h>

#define EVENT_PARSE_DEPTH     128
#define EVENT_MAX_BYTES (64u * 1024 * 1024)
#define TYPE_ERROR      0 /* a server ERROR event; never a daap_kube_event_type */

typedef struct queued {
    struct queued    *next;
    int               type;
    daap_kube_object *object;
} queued;

struct daap__watchparse {
    json_tokener *tok;
    size_t        partial;  /* bytes of the event being parsed */
    queued       *head, *tail;
    size_t        queued;   /* events between tail and head */
    bool          corrupt;
    char          why[160]; /* what made the stream corrupt */
};

int daap__watchparse_new(daap__watchparse **out)
{
    daap__watchparse *p = daap__calloc(1, sizeof(*p));

    *out = NULL;
    DAAP_ERROR_CHECK_ALLOC(p);
    p->tok = json_tokener_new_ex(EVENT_PARSE_DEPTH);
    if (p->tok == NULL) {
        daap__free(p);
        return daap_error_set_oom();
    }
    json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
    *out = p;
    return 0;
}

void daap__watchparse_free(daap__watchparse *p)
{
    queued *q, *next;

    if (p == NULL)
        return;
    for (q = p->head; q; q = next) {
        next = q->next;
        daap_kube_object_free(q->object);
        daap__free(q);
    }
    json_tokener_free(p->tok);
    daap__free(p);
}

static int corrupt(daap__watchparse *p, const char *why)
{
    if (!p->corrupt) {
        p->corrupt = true;
        snprintf(p->why, sizeof(p->why), "%s", why);
    }
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "corrupt watch stream: %s", p->why);
}

static int event_type(const char *name)
{
    static const struct { const char *name; int type; } types[] = {
        { "ADDED", DAAP_KUBE_ADDED }, { "MODIFIED", DAAP_KUBE_MODIFIED },
        { "DELETED", DAAP_KUBE_DELETED }, { "BOOKMARK", DAAP_KUBE_BOOKMARK },
        { "ERROR", TYPE_ERROR },
    };
    size_t i;

    for (i = 0; i < DAAP_ARRAY_SIZE(types); i++)
        if (strcmp(types[i].name, name) == 0)
            return types[i].type;
    return -1;
}

/* Queue one parsed envelope {"type":…,"object":{…}}; takes `env`. */
static int enqueue(daap__watchparse *p, json_object *env)
{
    json_object *jtype, *jobj;
    queued *q;
    int type, rc;

    if (!json_object_is_type(env, json_type_object)
        || !json_object_object_get_ex(env, "type", &jtype) || !json_object_is_type(jtype, json_type_string)
        || !json_object_object_get_ex(env, "object", &jobj) || !json_object_is_type(jobj, json_type_object)) {
        json_object_put(env);
        return corrupt(p, "an event is not {\"type\": string, \"object\": object}");
    }
    type = event_type(json_object_get_string(jtype));
    if (type < 0) { /* a newer server's event type: not for us */
        json_object_put(env);
        return 0;
    }
    q = daap__calloc(1, sizeof(*q));
    if (q == NULL) {
        json_object_put(env);
        return daap_error_set_oom();
    }
    rc = daap__kube_object_wrap(&q->object, json_object_get(jobj));
    json_object_put(env);
    if (rc < 0) {
        daap__free(q);
        return rc;
    }
    q->type = type;
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->queued++;
    return 0;
}

static size_t skip_whitespace(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && (data[i] == '\n' || data[i] == '\r' || data[i] == ' ' || data[i] == '\t'))
        i++;
    return i;
}

int daap__watchparse_feed(daap__watchparse *p, const char *data, size_t len)
{
    while (len > 0 && !p->corrupt) {
        json_object *env;
        size_t used;

        if (p->partial == 0) {
            used = skip_whitespace(data, len);
            data += used;
            len -= used;
            if (len == 0)
                break;
        }
        env = json_tokener_parse_ex(p->tok, data, len > INT32_MAX ? INT32_MAX : (int)len);
        used = json_tokener_get_parse_end(p->tok);
        if (env == NULL) {
            if (json_tokener_get_error(p->tok) != json_tokener_continue)
                return corrupt(p, json_tokener_error_desc(json_tokener_get_error(p->tok)));
            p->partial += used;
            if (p->partial > EVENT_MAX_BYTES)
                return corrupt(p, "an event is larger than 64 MiB");
            data += used;
            len -= used;
            continue;
        }
        json_tokener_reset(p->tok);
        p->partial = 0;
        data += used;
        len -= used;
        DAAP_TRY(enqueue(p, env));
    }
    return p->corrupt ? corrupt(p, p->why) : 0;
}

/* A server ERROR event carries a Status; its code picks the daap code. */
static int server_error(daap_kube_object *status)
{
    int64_t http = 500;
    int rc;

    daap_kube_object_int(&http, status, "code");
    rc = daap__kube_status_error((long)http, status, "watch");
    daap_kube_object_free(status);
    return rc;
}

int daap__watchparse_pop(daap_kube_event *out, daap__watchparse *p)
{
    queued *q = p->head;
    int type;
    daap_kube_object *obj;

    out->type = 0;
    out->object = NULL;
    if (q == NULL)
        return p->corrupt ? corrupt(p, p->why) : DAAP_ITEROVER;
    p->head = q->next;
    if (p->head == NULL)
        p->tail = NULL;
    p->queued--;
    type = q->type;
    obj = q->object;
    daap__free(q);
    if (type == TYPE_ERROR)
        return server_error(obj);
    out->type = type;
    out->object = obj;
    return 0;
}

bool daap__watchparse_partial(const daap__watchparse *p)
{
    return p->partial > 0;
}

size_t daap__watchparse_queued(const daap__watchparse *p)
{
    return p->queued;
}
