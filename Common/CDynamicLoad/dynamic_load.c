#include "outpost_dynamic_load.h"
#include <dlfcn.h>
#include <stdlib.h>

void *outpost_dynamic_load(const char *library, const char *const *symbols, size_t count, const char **missing) {
    *missing = library;
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return NULL;
    void **table = calloc(count, sizeof *table);
    if (table == NULL) {
        *missing = NULL;
        dlclose(handle);
        return NULL;
    }
    for (size_t index = 0; index < count; index++) {
        table[index] = dlsym(handle, symbols[index]);
        if (table[index] == NULL) {
            *missing = symbols[index];
            free(table);
            dlclose(handle);
            return NULL;
        }
    }
    *missing = NULL;
    return table;
}
