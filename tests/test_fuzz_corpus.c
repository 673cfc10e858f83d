/*
 * test_fuzz_corpus.c - every committed fuzz input (tests/fuzz/corpus/<target>/:
 * the seeds; tests/fuzz/regressions/<target>/: inputs that once crashed or
 * hung braid) through its target (tests/support/fuzz_targets.h), under the
 * sanitizers of the test build.  A target aborts on a wrong answer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "fuzz_targets.h"
#include "test_util.h"

/* Runs every file of folder rel through target t; returns how many. */
static int run_folder(const br_fuzz_target *t, const char *kind) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fuzz/%s/%s", kind, t->name);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", br_test_path(rel));
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *data = NULL;
        size_t len = 0;
        br_error err = {0};
        assert_int_equal(br_read_file(path, &data, &len, &err), BR_OK);
        t->run((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static void test_corpus_and_regressions(void **state) {
    (void)state;
    for (const br_fuzz_target *t = br_fuzz_targets; t->name; t++) {
        const int seeds = run_folder(t, "corpus"), regressions = run_folder(t, "regressions");
        fprintf(stderr, "  %-12s %3d seeds, %3d regression inputs\n", t->name, seeds, regressions);
        assert_true(seeds > 0); /* every target has a seed corpus */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_and_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
