/* Small file helpers for loading config and rules (never on the hot path). */
#ifndef CS_UTIL_FILEUTIL_H
#define CS_UTIL_FILEUTIL_H

#include <stddef.h>

#include "cryptosup/err.h"

/* Read a whole regular file of at most max_bytes into a malloc'd,
 * NUL-terminated buffer. CS_ERR_IO when unreadable, CS_ERR_LIMIT when too
 * big. */
enum cs_err cs_read_file(const char *path, size_t max_bytes, char **out,
                         size_t *len);

/* base/rel, or rel alone when it is absolute or base is empty. malloc'd. */
char *cs_path_join(const char *base, const char *rel);
/* Directory part of a path ("." when none). malloc'd. */
char *cs_path_dirname(const char *path);
/* File name without directory and without a ".lua" ending. malloc'd. */
char *cs_path_stem(const char *path);

/* `path` itself when it is a file, or the *.lua files directly inside it
 * when it is a directory (sorted). Each string and the array are
 * malloc'd. */
enum cs_err cs_list_lua_files(const char *path, char ***files, size_t *n);

#endif
