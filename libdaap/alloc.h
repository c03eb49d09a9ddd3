/* Library allocation goes through the pluggable allocator (daap/sys/alloc.h). */
#ifndef DAAP_INTERNAL_ALLOC_H
#define DAAP_INTERNAL_ALLOC_H

#include <stddef.h>

void *daap__malloc(size_t n);
void *daap__calloc(size_t n, size_t size);
void *daap__realloc(void *p, size_t n);
void  daap__free(void *p);
char *daap__strdup(const char *s);
char *daap__strndup(const char *s, size_t n);

#endif
