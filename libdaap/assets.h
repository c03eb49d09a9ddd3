/* Files compiled into the library: storage/sql/ and manifest/templates/ (see cmake/EmbedAssets.cmake). */
#ifndef DAAP_INTERNAL_ASSETS_H
#define DAAP_INTERNAL_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;  /* relative to its folder's parent, e.g. "sql/sqlite/0001_create_databases.up.sql" */
    const char *data;  /* NUL-terminated */
    size_t      size;
} daap__asset;

/* Terminated by an entry with path NULL. */
extern const daap__asset daap__assets[];

/* The asset at `path`, or NULL. */
const daap__asset *daap__asset_find(const char *path);

#endif
