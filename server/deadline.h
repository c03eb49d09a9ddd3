/* The header deadline: libmicrohttpd times out only idle connections, so a
 * client that sends its headers one byte at a time (slowloris) could hold a
 * connection for ever. This closes a connection whose request headers are
 * not complete within a set time of its start. */
#ifndef DAAP_SERVER_DEADLINE_H
#define DAAP_SERVER_DEADLINE_H

#include <microhttpd.h>
#include <stdint.h>

typedef struct header_deadline header_deadline;

/* Start the watcher thread. A connection must complete its first request's
 * headers within header_ms of being accepted, and each later request's
 * within idle_ms + header_ms of the previous answer. 0, or -1 on failure. */
int  header_deadline_start(header_deadline **out, int64_t header_ms, int64_t idle_ms);
/* Stop the thread; call after the daemons have stopped. NULL is ignored. */
void header_deadline_stop(header_deadline *hd);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the header_deadline. */
void header_deadline_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code);
/* The request on conn has all its headers: no deadline until it is answered. */
void header_deadline_headers_done(struct MHD_Connection *conn);
/* The request on conn was answered: the next one's headers have a deadline. */
void header_deadline_request_done(struct MHD_Connection *conn);

#endif
