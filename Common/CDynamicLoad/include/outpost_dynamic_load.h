#ifndef OUTPOST_DYNAMIC_LOAD_H
#define OUTPOST_DYNAMIC_LOAD_H
#include <stddef.h>

/* Opens `library` (dlopen) and resolves `count` functions by name into a new table of
   `count` pointers, in the order of `symbols`: all of them or none.

   Returns the table, which keeps the library's handle in one more slot after the functions and
   lives with the library until `outpost_dynamic_unload` (or the process ends). On failure returns
   NULL, closes the library again, and sets `*missing` to what is missing: `library` itself
   when it (or a library it needs) cannot be opened, else the first symbol it lacks; `*missing`
   is NULL when the table could not be allocated. Unlike dlerror(), which a failure elsewhere
   may have overwritten, `*missing` always names the cause; it points at the caller's `library`
   or `symbols` string (nothing is copied), so it is valid as long as that is. Nothing is cached: a later call,
   e.g. after the package was installed, tries again. */
void *outpost_dynamic_load(const char *library, const char *const *symbols, size_t count, const char **missing);

/* Closes the library of a table from `outpost_dynamic_load` (asked for `count` functions) and
   frees the table, whose functions must not be called after: for a library opened but found
   unusable (e.g. its initialisation failed), so a retry does not leak a table and a reference. */
void outpost_dynamic_unload(void *table, size_t count);

#endif
