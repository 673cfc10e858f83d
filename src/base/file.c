/*
 * file.c - whole-file reads and memory maps.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

br_status br_read_file(const char *path, char **out, size_t *len, br_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return BR_FAIL(err, BR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return BR_FAIL(err, BR_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    char *buf = br_malloc(n + 1, err);
    if (!buf) {
        fclose(f);
        return BR_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != n) {
        free(buf);
        return BR_FAIL(err, BR_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BR_OK;
}

br_status br_map_file(const char *path, br_mapped_file *out, br_error *err) {
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return BR_FAIL(err, BR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return BR_FAIL(err, BR_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return BR_FAIL(err, BR_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
        out->data = p;
        out->size = (size_t)st.st_size;
    }
    close(fd);
    return BR_OK;
}

void br_unmap_file(br_mapped_file *m) {
    if (m && m->data) munmap(m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
    }
}

void br_map_release(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p;
    const uintptr_t first = (a + page - 1) / page * page, end = (a + n) / page * page;
    if (end > first) madvise((void *)first, end - first, MADV_DONTNEED);
}

int br_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *br_path_join(const char *dir, const char *name, br_error *err) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = br_malloc(a + b + 2, err);
    if (p) snprintf(p, a + b + 2, "%s%s%s", dir, slash ? "/" : "", name);
    return p;
}
