/* One error enum for the whole engine, and the abort-on-broken-invariant
 * helpers. Details are logged once where they are known; callers pass the
 * code up. */
#ifndef CRYPTOSUP_ERR_H
#define CRYPTOSUP_ERR_H

#include <stddef.h>

enum cs_err {
    CS_OK = 0,
    CS_ERR_NOMEM,   /* allocation refused (only the Lua allocator returns it) */
    CS_ERR_INVAL,   /* bad argument or bad configuration value */
    CS_ERR_IO,      /* file, socket or database failure */
    CS_ERR_PROTO,   /* unparseable peer data */
    CS_ERR_LUA,     /* a Lua error, already logged */
    CS_ERR_LIMIT    /* a resource limit was hit (memory, instructions, size) */
};

/* Static text for an error code. Never NULL. */
const char *cs_strerror(enum cs_err err);

/* Abort with file:line in every build; for invariants, not for input. */
#define cs_require(cond) \
    ((cond) ? (void)0 : cs_require_failed(#cond, __FILE__, __LINE__))
_Noreturn void cs_require_failed(const char *expr, const char *file, int line);

/* malloc/calloc/realloc/strdup that abort on OOM. Sizes supplied by the
 * network must be capped before they get here. */
void *cs_xmalloc(size_t size);
void *cs_xcalloc(size_t count, size_t size);
void *cs_xrealloc(void *ptr, size_t size);
char *cs_xstrdup(const char *s);
char *cs_xstrndup(const char *s, size_t len);

#endif
