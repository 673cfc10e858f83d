/*
 * cli_run.h - running the braid command-line tool from a test as a user
 * runs it, capturing its exit status, stdout and stderr.  The binary comes
 * from BRAID_CLI and runs in BRAID_SOURCE_DIR (both set by CMake).
 */
#ifndef BR_TEST_CLI_RUN_H
#define BR_TEST_CLI_RUN_H

typedef struct br_cli_result {
    int status;     /* exit status; -1 if it did not exit */
    char *out, *err; /* what it printed (malloc'd) */
} br_cli_result;

/* Runs `braid <args>` (args are shell words); its output goes through files in scratch_dir (asserts on failure). */
br_cli_result br_test_cli(const char *scratch_dir, const char *args);
void br_cli_result_free(br_cli_result *r);

#endif /* BR_TEST_CLI_RUN_H */
