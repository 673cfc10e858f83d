/*
 * npy.c - writing and reading float32 NumPy .npy files.
 *
 * The writer reproduces numpy.save byte for byte: keys in sorted order, the
 * Python repr of the shape tuple, 21 - len(repr(shape[0])) spare spaces (room
 * for the leading axis to grow in place), then space padding and '\n' so the
 * data starts at a multiple of 64.  The reader parses the small subset of
 * Python literal syntax that these headers use.
 */
#include "base/npy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21

/* Python repr of the shape tuple: "()", "(5,)", "(2, 3)". */
static size_t shape_repr(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    o += (size_t)snprintf(buf + o, cap - o, ndim == 1 ? ",)" : ")");
    return o;
}

/* numel of shape, or fails if it does not fit in bytes as float32. */
static br_status count_elements(const char *path, int ndim, const int64_t *shape, size_t *numel,
                                br_error *err) {
    size_t n = 1;
    int zero = 0;
    for (int i = 0; i < ndim; i++) zero |= shape[i] == 0;
    for (int i = 0; i < ndim && !zero; i++) {
        if ((uint64_t)shape[i] > (SIZE_MAX / 4) / n)
            return BR_FAIL(err, BR_ERR_RANGE, "%s: shape has too many elements", path);
        n *= (size_t)shape[i];
    }
    *numel = zero ? 0 : n;
    return BR_OK;
}

static void put_le32(unsigned char *p, uint32_t u) {
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The complete v1.0 preamble (magic through '\n') into buf; its length. */
static size_t build_header(unsigned char *buf, int ndim, const int64_t *shape) {
    char dict[512];
    char tuple[256];
    shape_repr(tuple, sizeof tuple, ndim, shape);
    size_t d = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                                tuple);
    if (ndim > 0) {
        char first[32];
        int spare = NPY_GROWTH_DIGITS - snprintf(first, sizeof first, "%" PRId64, shape[0]);
        for (int i = 0; i < spare; i++) dict[d++] = ' ';
    }
    size_t hlen = d + 1; /* with the final '\n' */
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + 2 + 2 + hlen) % NPY_ALIGN;
    size_t o = 0;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    o += NPY_MAGIC_LEN;
    buf[o++] = 1;
    buf[o++] = 0;
    buf[o++] = (unsigned char)((hlen + pad) & 0xff);
    buf[o++] = (unsigned char)((hlen + pad) >> 8);
    memcpy(buf + o, dict, d);
    o += d;
    memset(buf + o, ' ', pad);
    o += pad;
    buf[o++] = '\n';
    return o;
}

br_status br_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                           br_error *err) {
    if (!path) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_npy_write_f32: path is NULL");
    if (ndim < 0 || ndim > BR_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: ndim %d must be 0..%d with a shape", path, ndim,
                       BR_NPY_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: shape[%d] is negative (%" PRId64 ")", path,
                           i, shape[i]);
    size_t numel = 0;
    BR_TRY(count_elements(path, ndim, shape, &numel, err));
    if (numel > 0 && !data) return BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: data is NULL", path);

    unsigned char head[1024];
    size_t head_len = build_header(head, ndim, shape);
    FILE *f = fopen(path, "wb");
    if (!f) return BR_FAIL(err, BR_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(head, 1, head_len, f) == head_len;
    unsigned char chunk[4096];
    for (size_t i = 0; ok && i < numel;) {
        size_t n = 0;
        for (; i < numel && n + 4 <= sizeof chunk; i++, n += 4) {
            uint32_t u;
            memcpy(&u, &data[i], 4);
            put_le32(chunk + n, u);
        }
        ok = fwrite(chunk, 1, n, f) == n;
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        remove(path);
        return BR_FAIL(err, BR_ERR_IO, "%s: write failed", path);
    }
    return BR_OK;
}

/* ---- reading: a cursor over the header's Python dict literal ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int accept(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A '...' or "..." string without escapes, into buf. */
static int read_quoted(cursor *c, char *buf, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

static int read_word(cursor *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* A tuple of non-negative ints (Python 2's "3L" too); ndim > 8 reported as 9. */
static int read_shape(cursor *c, int *ndim, int64_t *shape) {
    if (!accept(c, '(')) return 0;
    int n = 0;
    for (;;) {
        if (accept(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) return 0;
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            int digit = *c->p++ - '0';
            if (v > (INT64_MAX - digit) / 10) return 0;
            v = v * 10 + digit;
        }
        if (c->p < c->end && *c->p == 'L') c->p++;
        if (n < BR_NPY_MAX_DIMS) shape[n] = v;
        if (n <= BR_NPY_MAX_DIMS) n++;
        if (accept(c, ')')) break;
        if (!accept(c, ',')) return 0;
    }
    *ndim = n;
    return 1;
}

typedef struct npy_header {
    char descr[64];
    int fortran_order;
    int ndim;
    int64_t shape[BR_NPY_MAX_DIMS];
} npy_header;

static br_status parse_dict(const char *path, const char *text, size_t len, npy_header *h,
                            br_error *err) {
    cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{')) goto bad;
    while (!accept(&c, '}')) {
        char key[32];
        if (!read_quoted(&c, key, sizeof key) || !accept(&c, ':')) goto bad;
        if (strcmp(key, "descr") == 0) {
            if (!read_quoted(&c, h->descr, sizeof h->descr)) goto bad;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (read_word(&c, "True")) h->fortran_order = 1;
            else if (read_word(&c, "False")) h->fortran_order = 0;
            else goto bad;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!read_shape(&c, &h->ndim, h->shape)) goto bad;
            have_shape = 1;
        } else {
            return BR_FAIL(err, BR_ERR_PARSE, "%s: unexpected key '%s' in the .npy header", path, key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}')) goto bad;
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end) goto bad;
    if (!have_descr || !have_order || !have_shape)
        return BR_FAIL(err, BR_ERR_PARSE, "%s: .npy header lacks 'descr', 'fortran_order' or 'shape'",
                       path);
    return BR_OK;
bad:
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    return BR_FAIL(err, BR_ERR_PARSE, "%s: malformed .npy header at byte %td: %.*s", path,
                   c.p - text, (int)(len < 200 ? len : 200), text);
}

/* Checks the preamble; the header dict is text[*hstart, *hstart + *hlen). */
static br_status read_preamble(const char *path, const unsigned char *b, size_t len, size_t *hstart,
                               size_t *hlen, br_error *err) {
    if (len < 10 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return BR_FAIL(err, BR_ERR_PARSE, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: .npy format version %d.%d (braid reads 1.0-3.0)",
                       path, major, minor);
    if (major == 1) {
        *hstart = 10;
        *hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else {
        if (len < 12) return BR_FAIL(err, BR_ERR_IO, "%s: truncated .npy preamble", path);
        *hstart = 12;
        *hlen = get_le32(b + 8);
    }
    if (*hlen > len - *hstart)
        return BR_FAIL(err, BR_ERR_IO, "%s: .npy header length %zu runs past the end of the %zu-byte file",
                       path, *hlen, len);
    return BR_OK;
}

static br_status decode(const char *path, const unsigned char *b, size_t len, float **data, int *ndim,
                        int64_t *shape, br_error *err) {
    size_t hstart = 0, hlen = 0;
    BR_TRY(read_preamble(path, b, len, &hstart, &hlen, err));
    npy_header h = {0};
    BR_TRY(parse_dict(path, (const char *)b + hstart, hlen, &h, err));
    if (strcmp(h.descr, "<f4") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: dtype '%s', braid reads only '<f4'", path,
                       h.descr);
    if (h.ndim > BR_NPY_MAX_DIMS)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: more than %d dims", path, BR_NPY_MAX_DIMS);
    if (h.fortran_order && h.ndim > 1)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: Fortran-order array; braid reads C order only",
                       path);
    size_t numel = 0;
    BR_TRY(count_elements(path, h.ndim, h.shape, &numel, err));
    size_t have = len - hstart - hlen;
    if (have != numel * 4)
        return BR_FAIL(err, have < numel * 4 ? BR_ERR_IO : BR_ERR_PARSE,
                       "%s: %zu data bytes, but %zu float32 elements need %zu", path, have, numel,
                       numel * 4);
    float *out = br_malloc(numel * 4, err);
    if (!out) return BR_ERR_NOMEM;
    const unsigned char *p = b + hstart + hlen;
    for (size_t i = 0; i < numel; i++) {
        uint32_t u = get_le32(p + 4 * i);
        memcpy(&out[i], &u, 4);
    }
    *data = out;
    *ndim = h.ndim;
    for (int i = 0; i < h.ndim; i++) shape[i] = h.shape[i];
    return BR_OK;
}

br_status br_npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[BR_NPY_MAX_DIMS],
                          br_error *err) {
    if (!path || !data || !ndim || !shape)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_npy_read_f32: NULL argument");
    *data = NULL;
    char *buf = NULL;
    size_t len = 0;
    BR_TRY(br_read_file(path, &buf, &len, err));
    br_status st = decode(path, (const unsigned char *)buf, len, data, ndim, shape, err);
    free(buf);
    return st;
}
