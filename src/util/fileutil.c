/* File reading, path joining and rule directory listing for the loaders. */
#include "util/fileutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum cs_err cs_read_file(const char *path, size_t max_bytes, char **out,
                         size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        return CS_ERR_IO;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return CS_ERR_IO;
    }
    if ((size_t)st.st_size > max_bytes) {
        fclose(f);
        return CS_ERR_LIMIT;
    }
    buf = cs_xmalloc((size_t)st.st_size + 1);
    n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        free(buf);
        return CS_ERR_IO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CS_OK;
}

char *cs_path_join(const char *base, const char *rel)
{
    size_t blen = strlen(base);
    char *out;
    if (rel[0] == '/' || blen == 0) {
        return cs_xstrdup(rel);
    }
    out = cs_xmalloc(blen + strlen(rel) + 2);
    sprintf(out, "%s%s%s", base, base[blen - 1] == '/' ? "" : "/", rel);
    return out;
}

char *cs_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return cs_xstrdup(".");
    }
    if (slash == path) {
        return cs_xstrdup("/");
    }
    return cs_xstrndup(path, (size_t)(slash - path));
}

char *cs_path_stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".lua") == 0) {
        len -= 4;
    }
    return cs_xstrndup(name, len);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum cs_err cs_list_lua_files(const char *path, char ***files, size_t *n)
{
    struct stat st;
    DIR *dir;
    struct dirent *ent;
    char **list = NULL;
    size_t count = 0, cap = 0;

    if (stat(path, &st) != 0) {
        return CS_ERR_IO;
    }
    if (S_ISREG(st.st_mode)) {
        list = cs_xcalloc(1, sizeof *list);
        list[0] = cs_xstrdup(path);
        *files = list;
        *n = 1;
        return CS_OK;
    }
    dir = opendir(path);
    if (dir == NULL) {
        return CS_ERR_IO;
    }
    while ((ent = readdir(dir)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (ent->d_name[0] == '.' || len < 5 ||
            strcmp(ent->d_name + len - 4, ".lua") != 0) {
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            list = cs_xrealloc(list, cap * sizeof *list);
        }
        list[count++] = cs_path_join(path, ent->d_name);
    }
    closedir(dir);
    if (count > 1) {
        qsort(list, count, sizeof *list, compare_names);
    }
    *files = list;
    *n = count;
    return CS_OK;
}
