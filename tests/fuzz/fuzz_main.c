/*
 * fuzz_main.c - one libFuzzer binary per target (tools/fuzz.sh builds it with
 * -DBR_FUZZ_TARGET=br_fuzz_<name>; tests/support/fuzz_targets.h lists them).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return BR_FUZZ_TARGET(data, size); }
