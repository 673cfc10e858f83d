/*
 * tmpdir.h - scratch directories for tests that write files: a fresh
 * mkdtemp directory under $TMPDIR (else /tmp), removed with its contents.
 */
#ifndef BR_TEST_TMPDIR_H
#define BR_TEST_TMPDIR_H

/* A new empty directory; the caller passes it to br_test_rmtree, which frees
 * the string.  NULL on failure. */
char *br_test_mkdtemp(const char *prefix);

/* Removes dir and everything under it, then frees dir.  NULL-safe. */
void br_test_rmtree(char *dir);

/* dir + "/" + name in a static buffer overwritten by the next call. */
const char *br_test_join(const char *dir, const char *name);

#endif /* BR_TEST_TMPDIR_H */
