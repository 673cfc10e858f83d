/*
 * cli_util.c - option parsing, printing and timing shared by subcommands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_fail(const br_error *err) {
    fprintf(stderr, "braid: %s: %s\n", br_status_str(err->status), err->message);
    const char *dbg = getenv("BRAID_DEBUG");
    if (dbg && *dbg && err->where_file) fprintf(stderr, "  (raised at %s:%d)\n", err->where_file, err->where_line);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "braid %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(run 'braid %s --help' for usage)\n", cmd);
    return 2;
}

int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, int *bad) {
    if (strcmp(argv[*i], name) != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "braid: option %s needs a value\n", name);
        *bad = 1;
        return 1;
    }
    *out = argv[++*i];
    return 1;
}

int cli_opt_long(int argc, char **argv, int *i, const char *name, long long lo, long long hi, long long *out, int *bad) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s, bad)) return 0;
    if (*bad) return 1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "braid: option %s expects an integer in [%lld, %lld], got '%s'\n", name, lo, hi, s);
        *bad = 1;
        return 1;
    }
    *out = v;
    return 1;
}

int cli_opt_double(int argc, char **argv, int *i, const char *name, double *out, int *bad) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s, bad)) return 0;
    if (*bad) return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end || errno) {
        fprintf(stderr, "braid: option %s expects a number, got '%s'\n", name, s);
        *bad = 1;
        return 1;
    }
    *out = v;
    return 1;
}

void cli_bytes(int64_t bytes, char *buf, int cap) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (u == 0) snprintf(buf, (size_t)cap, "%lld B", (long long)bytes);
    else snprintf(buf, (size_t)cap, "%.2f %s", v, units[u]);
}

void cli_count(int64_t n, char *buf, int cap) {
    if (n >= 1000000000LL) snprintf(buf, (size_t)cap, "%.3f B", n / 1e9);
    else if (n >= 1000000LL) snprintf(buf, (size_t)cap, "%.2f M", n / 1e6);
    else if (n >= 1000LL) snprintf(buf, (size_t)cap, "%.1f K", n / 1e3);
    else snprintf(buf, (size_t)cap, "%lld", (long long)n);
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_dispatch(const cli_command *table, size_t n, const char *prefix, const char *noun, int argc, char **argv) {
    const int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (argc >= 2 && !help) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[1], table[i].name) == 0) return table[i].run(argc - 1, argv + 1);
        fprintf(stderr, "%s: unknown %s '%s'\n", prefix, noun, argv[1]);
    }
    FILE *out = help ? stdout : stderr;
    fprintf(out, "usage: %s <%s> [options]\n\n%ss:\n", prefix, noun, noun);
    for (size_t i = 0; i < n; i++) fprintf(out, "  %-10s %s\n", table[i].name, table[i].summary);
    fprintf(out, "\n'%s <%s> --help' describes its options.\n", prefix, noun);
    return help ? 0 : 2;
}
