/*
 * bytelevel.h - GPT-2's reversible byte <-> character alphabet.
 *
 * Byte-level BPE works on bytes, but its vocabulary is stored as text, so
 * every byte is shown as a printable code point: the printable bytes
 * 0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF stand for themselves, and the other
 * 68 bytes, in increasing order, take U+0100.. U+0143 (space 0x20 -> U+0120
 * 'Ġ', newline -> U+010A 'Ċ').  Both directions are closed formulas.
 */
#ifndef BR_TOKENIZER_BYTELEVEL_H
#define BR_TOKENIZER_BYTELEVEL_H

#include <stdint.h>

static inline uint32_t tk_byte_to_cp(unsigned char b) {
    if (b <= 0x20) return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0) return 0x121 + (uint32_t)(b - 0x7F);
    if (b == 0xAD) return 0x143;
    return b;
}

/* The byte a code point stands for, or -1 if it is not in the alphabet. */
static inline int tk_cp_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp >= 0x100 && cp <= 0x120) return (int)(cp - 0x100);
    if (cp >= 0x121 && cp <= 0x142) return (int)(cp - 0x121 + 0x7F);
    if (cp == 0x143) return 0xAD;
    return -1;
}

#endif /* BR_TOKENIZER_BYTELEVEL_H */
