/* Test helpers that write throwaway files (configs, rules) into a fresh
 * temporary directory. */
#ifndef CS_TEST_SCRATCH_H
#define CS_TEST_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A new empty directory under $TMPDIR (or /tmp). Static buffer. */
static inline const char *scratch_dir(void)
{
    static char dir[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cs-test-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    return dir;
}

/* Write `text` to dir/name (creating one level of subdirectory if the
 * name has a slash). Returns the path in a static rotating buffer. */
static inline const char *scratch_write(const char *dir, const char *name,
                                        const char *text)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    const char *slash = strchr(name, '/');
    FILE *f;
    if (slash) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%.*s", dir, (int)(slash - name), name);
        mkdir(sub, 0700);
    }
    snprintf(path, 512, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        abort();
    }
    fputs(text, f);
    fclose(f);
    return path;
}

#endif
