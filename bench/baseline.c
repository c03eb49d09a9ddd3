/* daap-bench-baseline: the bare libmicrohttpd server every figure is compared
 * with. It answers every request with one constant 500-byte JSON body, using
 * the same thread settings as daap-server (server/http.c): N independent
 * single-thread epoll daemons sharing one port through SO_REUSEPORT
 * (MHD_OPTION_LISTENING_ADDRESS_REUSE), N = one per CPU unless --threads.
 * Like daap-server it answers on the second access-handler call, never the
 * first, so HTTP keep-alive stays on (perf.md 5.3.1).
 *
 *   daap-bench-baseline [--listen HOST:PORT] [--threads N]
 *
 * Prints "listening on PORT" once every daemon is up; SIGTERM/SIGINT stop it. */
#define _GNU_SOURCE
#include <microhttpd.h>

#include <pthread.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64
#define BODY_SIZE   500

static char body[BODY_SIZE + 1];
static struct MHD_Response *response;
static int first_call_marker;

/* A record-shaped JSON object padded to exactly BODY_SIZE bytes. */
static void make_body(void)
{
    static const char head[] =
        "{\"id\":\"0190f3a2-7b1c-7d2e-8f00-123456789abc\",\"name\":\"bench-baseline\","
        "\"owner_team\":\"team-00\",\"purpose\":\"constant baseline body\",\"status\":\"ready\","
        "\"instances\":1,\"storage_size\":\"1Gi\",\"pg_version\":16,\"revision\":3,\"pad\":\"";
    static const char tail[] = "\"}";
    size_t n = strlen(head), pad = BODY_SIZE - n - strlen(tail);

    memcpy(body, head, n);
    memset(body + n, 'x', pad);
    memcpy(body + n + pad, tail, strlen(tail) + 1);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    if (*con_cls == NULL) { /* headers just parsed: answering now would turn keep-alive off */
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size) { /* ignore any body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--listen HOST:PORT] [--threads N]\n", argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *daemons[MAX_THREADS];
    struct sockaddr_in sa;
    char host[64] = "127.0.0.1";
    int port = 0, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), i, sig;
    sigset_t set;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            const char *colon = strrchr(argv[++i], ':');
            if (colon == NULL || (size_t)(colon - argv[i]) >= sizeof(host))
                usage(argv[0]);
            snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[i]), argv[i]);
            port = atoi(colon + 1);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else {
            usage(argv[0]);
        }
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;

    make_body();
    response = MHD_create_response_from_buffer(BODY_SIZE, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage(argv[0]);
    for (i = 0; i < threads; i++) {
        sa.sin_port = htons((uint16_t)port);
        daemons[i] = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
                                      NULL, NULL, answer, NULL,
                                      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                                      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(512 / threads),
                                      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)15,
                                      MHD_OPTION_END);
        if (daemons[i] == NULL) {
            fprintf(stderr, "daap-bench-baseline: cannot listen on %s:%d\n", host, port);
            return 1;
        }
        if (i == 0) {
            const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemons[0], MHD_DAEMON_INFO_BIND_PORT);
            port = di ? di->port : port;
        }
    }
    printf("listening on %d threads=%d\n", port, threads);
    fflush(stdout);
    sigwait(&set, &sig);
    for (i = 0; i < threads; i++)
        MHD_stop_daemon(daemons[i]);
    MHD_destroy_response(response);
    return 0;
}
