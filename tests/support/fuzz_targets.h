/*
 * fuzz_targets.h - what braid's fuzzers feed bytes to.  Each target takes
 * any input, must never crash, leak or hang, and aborts when it finds a
 * wrong answer (so the fuzzer and the corpus test report it):
 *   spec         a spec's YAML (br_spec_parse)
 *   config       config.json of a checkpoint folder (the spec braid derives)
 *   safetensors  a .safetensors file: header, offsets, every tensor read as f32
 *   tokenizer    tokenizer.json: load, then encode and decode a fixed text
 *   encode       text encoded by every committed tokenizer; the streamed
 *                decode of the ids must equal their whole decode
 * tests/fuzz/fuzz_main.c turns one into a libFuzzer binary (tools/fuzz.sh);
 * tests/test_fuzz_corpus.c runs every committed input through them.
 */
#ifndef BR_TEST_FUZZ_TARGETS_H
#define BR_TEST_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int br_fuzz_spec(const uint8_t *data, size_t size);
int br_fuzz_config(const uint8_t *data, size_t size);
int br_fuzz_safetensors(const uint8_t *data, size_t size);
int br_fuzz_tokenizer(const uint8_t *data, size_t size);
int br_fuzz_encode(const uint8_t *data, size_t size);

typedef struct br_fuzz_target {
    const char *name;
    int (*run)(const uint8_t *data, size_t size);
} br_fuzz_target;

/* Every target, NULL-terminated. */
extern const br_fuzz_target br_fuzz_targets[];

#endif /* BR_TEST_FUZZ_TARGETS_H */
