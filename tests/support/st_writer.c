/*
 * st_writer.c - test-only safetensors writer (valid and raw forms).
 */
#include "st_writer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends printf output to a growing string; returns 0 on failure. */
__attribute__((format(printf, 4, 5)))
static int append(char **s, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*s ? *s + *len : NULL, *s ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return 0;
        if (*s && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 1;
        }
        size_t want = (*cap ? *cap * 2 : 256) + (size_t)n + 1;
        char *p = realloc(*s, want);
        if (!p) return 0;
        *s = p;
        *cap = want;
    }
}

int br_test_st_write_raw(const char *path, uint64_t header_len, const char *header, size_t header_bytes,
                         const void *data, size_t data_len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char n[8];
    for (int i = 0; i < 8; i++) n[i] = (unsigned char)(header_len >> (8 * i));
    int ok = fwrite(n, 1, 8, f) == 8 && fwrite(header, 1, header_bytes, f) == header_bytes;
    static const unsigned char zeros[256];
    for (size_t done = 0; ok && done < data_len;) {
        size_t k = data_len - done < sizeof zeros ? data_len - done : sizeof zeros;
        ok = fwrite(data ? (const unsigned char *)data + done : zeros, 1, k, f) == k;
        done += k;
    }
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

int br_test_st_write_header(const char *path, const char *header, size_t data_len) {
    return br_test_st_write_raw(path, strlen(header), header, strlen(header), NULL, data_len);
}

int br_test_st_write(const char *path, const br_test_st_entry *e, size_t n, const char *metadata_json,
                     size_t align) {
    char *h = NULL;
    size_t len = 0, cap = 0, offset = 0;
    int ok = append(&h, &len, &cap, "{");
    if (metadata_json) ok = ok && append(&h, &len, &cap, "\"__metadata__\":%s", metadata_json);
    for (size_t i = 0; i < n && ok; i++) {
        ok = append(&h, &len, &cap, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", (i || metadata_json) ? "," : "",
                    e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].ndim && ok; d++)
            ok = append(&h, &len, &cap, "%s%" PRId64, d ? "," : "", e[i].shape[d]);
        ok = ok && append(&h, &len, &cap, "],\"data_offsets\":[%zu,%zu]}", offset, offset + e[i].nbytes);
        offset += e[i].nbytes;
    }
    ok = ok && append(&h, &len, &cap, "}");
    while (ok && align > 1 && len % align != 0) ok = append(&h, &len, &cap, " ");
    unsigned char *data = ok ? calloc(offset ? offset : 1, 1) : NULL;
    if (data) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            if (e[i].data) memcpy(data + o, e[i].data, e[i].nbytes);
            o += e[i].nbytes;
        }
    }
    int rc = data ? br_test_st_write_raw(path, len, h, len, data, offset) : -1;
    free(data);
    free(h);
    return rc;
}

int br_test_write_text(const char *path, const char *text) { return br_test_write_bytes(path, text, strlen(text)); }

int br_test_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    const int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}
