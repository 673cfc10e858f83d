/*
 * cli.h - the braid command-line tool: subcommands and shared helpers.
 *
 * Each subcommand lives in its own cmd_<name>.c with an entry point
 * `int cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand) and
 * returns the process exit status.  Library errors are printed by
 * cli_fail(); only this tool ever exits.
 */
#ifndef BR_CLI_H
#define BR_CLI_H

#include <stdint.h>

#include "braid.h"

int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Prints "braid: <message>" (and where it arose under BRAID_DEBUG=1); returns 1. */
int cli_fail(const br_error *err);
/* Prints "braid <cmd>: <message>" and a hint to run --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* Option parsing: returns 1 and advances *i when argv[*i] is `name`
 * followed by a value; fails on a missing or malformed value. */
int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, int *bad);
int cli_opt_long(int argc, char **argv, int *i, const char *name, long long lo, long long hi, long long *out, int *bad);
int cli_opt_double(int argc, char **argv, int *i, const char *name, double *out, int *bad);

/* "12.3 MiB", "1.50 GiB" */
void cli_bytes(int64_t bytes, char *buf, int cap);
/* "2.77 B", "52.0 M" */
void cli_count(int64_t n, char *buf, int cap);
/* Monotonic seconds. */
double cli_now(void);

#endif /* BR_CLI_H */
