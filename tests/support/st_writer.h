/*
 * st_writer.h - a tiny safetensors writer for tests: builds valid files from
 * a list of tensors, or writes raw header text and data so that tests can
 * produce every kind of broken file.  Independent of the reader under test
 * (it formats the header JSON by hand).
 */
#ifndef BR_TEST_ST_WRITER_H
#define BR_TEST_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct br_test_st_entry {
    const char *name;   /* written verbatim inside quotes: no '"' or '\\' */
    const char *dtype;  /* as in the format: "F32", "BF16", ...           */
    int ndim;
    int64_t shape[8];
    const void *data;   /* nbytes little-endian bytes; NULL writes zeros  */
    size_t nbytes;
} br_test_st_entry;

/* Writes a valid file: entries' data packed back to back in the given order,
 * "__metadata__" set to `metadata_json` (JSON object text) unless NULL, and
 * the header padded with spaces to a multiple of `align` (1: no padding;
 * the safetensors library uses 8).  Returns 0 on success. */
int br_test_st_write(const char *path, const br_test_st_entry *e, size_t n, const char *metadata_json,
                     size_t align);

/* Writes u64 LE `header_len`, then header[header_bytes], then data_len bytes
 * of `data` (zeros if NULL).  Returns 0 on success. */
int br_test_st_write_raw(const char *path, uint64_t header_len, const char *header, size_t header_bytes,
                         const void *data, size_t data_len);

/* Writes header text (its length as N) and data_len zero bytes. */
int br_test_st_write_header(const char *path, const char *header, size_t data_len);

/* Writes `text` to path.  Returns 0 on success. */
int br_test_write_text(const char *path, const char *text);
/* Writes len bytes to path; 0 on success. */
int br_test_write_bytes(const char *path, const void *data, size_t len);

#endif /* BR_TEST_ST_WRITER_H */
