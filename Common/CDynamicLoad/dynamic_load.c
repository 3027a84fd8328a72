#include "outpost_dynamic_load.h"
#include <dlfcn.h>
#include <stdlib.h>

void *outpost_dynamic_load(const char *library, const char *const *symbols, size_t count, const char **missing) {
    *missing = library;
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return NULL;
    void **table = calloc(count + 1, sizeof *table);
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
    table[count] = handle;
    *missing = NULL;
    return table;
}

void outpost_dynamic_unload(void *table, size_t count) {
    void **slots = table;
    dlclose(slots[count]);
    free(slots);
}
