/*
 * cli_run.c - running the braid CLI from a test (cli_run.h).
 */
#include "cli_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "base/file.h"
#include "test_util.h"

br_cli_result br_test_cli(const char *scratch_dir, const char *args) {
    const char *cli = getenv("BRAID_CLI");
    assert_non_null(cli);
    char out_path[4200], err_path[4200], cmd[16384];
    snprintf(out_path, sizeof out_path, "%s/out.txt", scratch_dir);
    snprintf(err_path, sizeof err_path, "%s/err.txt", scratch_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s' 2>'%s'", getenv("BRAID_SOURCE_DIR"), cli, args, out_path, err_path);
    int rc = system(cmd);
    br_cli_result r = {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, NULL, NULL};
    size_t len;
    br_error err = {0};
    assert_int_equal(br_read_file(out_path, &r.out, &len, &err), BR_OK);
    assert_int_equal(br_read_file(err_path, &r.err, &len, &err), BR_OK);
    return r;
}

void br_cli_result_free(br_cli_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}
