/* Growable buffer helpers over the public daap_buf. */
#ifndef DAAP_INTERNAL_BUF_H
#define DAAP_INTERNAL_BUF_H

#include <stdarg.h>
#include <daap/buffer.h>

int daap__buf_grow(daap_buf *b, size_t extra);
int daap__buf_put(daap_buf *b, const char *data, size_t len);
int daap__buf_puts(daap_buf *b, const char *s);
int daap__buf_putc(daap_buf *b, char c);
int daap__buf_printf(daap_buf *b, const char *fmt, ...) DAAP_PRINTF(2, 3);
int daap__buf_vprintf(daap_buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. */
int daap__buf_put_json_str(daap_buf *b, const char *s);
int daap__buf_put_json_strn(daap_buf *b, const char *s, size_t len);
/* Length of the one UTF-8 character at s (at most `left` bytes), 0 when
 * the bytes there are not UTF-8. */
size_t daap__utf8_valid_prefix(const char *s, size_t left);
/* Percent-encode everything but RFC 3986 unreserved characters. */
int daap__buf_put_uri_escaped(daap_buf *b, const char *s);
/* Forget the contents, keep the memory. */
void daap__buf_clear(daap_buf *b);
/* Hand the contents to the caller (NUL-terminated, never NULL on success). */
char *daap__buf_detach(daap_buf *b);

#endif
