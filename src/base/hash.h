/*
 * hash.h - FNV-1a, the one 64-bit hash braid uses for names, texts and
 * checksums (not cryptographic):
 *   h = start;  for each byte c:  h = (h ^ c) * 1099511628211
 * Feeding a second buffer with the first's result hashes their
 * concatenation, so structured data hashes field by field.
 */
#ifndef BR_BASE_HASH_H
#define BR_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define BR_FNV1A_START 14695981039346656037ull

static inline uint64_t br_fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *c = data;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

#endif /* BR_BASE_HASH_H */
