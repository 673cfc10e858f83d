/*
 * file.h - whole-file reads and read-only memory maps, with errors that name
 * the path and the system's reason.
 */
#ifndef BR_BASE_FILE_H
#define BR_BASE_FILE_H

#include <stddef.h>

#include "braid_status.h"

/* Reads the whole file; *out (NUL-terminated, caller frees) and *len. */
br_status br_read_file(const char *path, char **out, size_t *len, br_error *err);

/* A read-only mapping of a whole file. */
typedef struct br_mapped_file {
    void *data;   /* NULL for an empty file */
    size_t size;
} br_mapped_file;

br_status br_map_file(const char *path, br_mapped_file *out, br_error *err);
void br_unmap_file(br_mapped_file *m); /* safe on a zeroed struct */
/* Drops the pages lying wholly inside [p, p + n) of such a mapping from the
 * process's resident memory; the bytes stay readable (a later read maps
 * them again from the page cache).  For bytes read once and copied. */
void br_map_release(const void *p, size_t n);

/* 1 if a regular file exists at path. */
int br_file_exists(const char *path);

/* Joins dir and name with one '/' into a fresh string (caller frees). */
char *br_path_join(const char *dir, const char *name, br_error *err);

#endif /* BR_BASE_FILE_H */
