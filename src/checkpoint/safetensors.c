/*
 * safetensors.c - the archive: one file, or an index plus its shards,
 * presented as one name-sorted list of tensors.
 *
 * Opening an index: read "weight_map" (name -> shard file), check that every
 * shard file exists, map each distinct shard once, reject a name held by two
 * shards, then resolve every indexed name in its shard.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/safetensors_shard.h"

struct br_st_archive {
    st_shard *shards;      /* [n_shards]; sorted by path for an index     */
    size_t n_shards;
    br_st_tensor *tensors; /* [n_tensors]; sorted by name; views of shards */
    size_t n_tensors;
};

void br_st_close(br_st_archive *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n_shards; i++) st_shard_close(&a->shards[i]);
    free(a->shards);
    free(a->tensors);
    free(a);
}

br_status br_st_open_file(const char *path, br_st_archive **out, br_error *err) {
    if (!path || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_st_open_file: NULL argument");
    *out = NULL;
    br_st_archive *a = br_calloc(1, sizeof *a, err);
    if (!a) return BR_ERR_NOMEM;
    a->shards = br_calloc(1, sizeof *a->shards, err);
    br_status st = a->shards ? st_shard_open(path, &a->shards[0], err) : BR_ERR_NOMEM;
    if (st == BR_OK) {
        a->n_shards = 1;
        const st_shard *s = &a->shards[0];
        a->tensors = br_calloc(s->n_tensors, sizeof *a->tensors, err);
        if (!a->tensors) st = BR_ERR_NOMEM;
        else {
            memcpy(a->tensors, s->tensors, s->n_tensors * sizeof *a->tensors);
            a->n_tensors = s->n_tensors;
        }
    }
    if (st != BR_OK) {
        br_st_close(a);
        return st;
    }
    *out = a;
    return BR_OK;
}

/* One "weight_map" row; both strings belong to the index JSON. */
typedef struct index_entry {
    const char *name;
    const char *shard;
} index_entry;

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const index_entry *)a)->name, ((const index_entry *)b)->name);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A shard name must stay inside the index's directory. */
static int shard_name_ok(const char *s) {
    if (s[0] == '\0' || s[0] == '/') return 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += len;
        if (*p == '/') p++;
    }
    return 1;
}

/* The directory part of path ("." if none), freshly allocated. */
static char *dir_of(const char *path, br_error *err) {
    const char *slash = strrchr(path, '/');
    if (!slash) return br_strdup(".", err);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = br_malloc(n + 1, err);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Reads weight_map into entries[*n] sorted by name. */
static br_status read_weight_map(const char *index_path, const json_t *root, index_entry **entries,
                                 size_t *n, br_error *err) {
    const json_t *map = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    if (!json_is_object(map))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: no \"weight_map\" object (name -> shard file)",
                       index_path);
    size_t count = json_object_size(map);
    index_entry *e = br_calloc(count, sizeof *e, err);
    if (!e) return BR_ERR_NOMEM;
    size_t i = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (!json_is_string(v) || !shard_name_ok(json_string_value(v))) {
            free(e);
            return BR_FAIL(err, BR_ERR_PARSE,
                           "%s: weight_map entry for tensor '%s' must be a shard file name relative "
                           "to the index's directory",
                           index_path, key);
        }
        e[i].name = key;
        e[i].shard = json_string_value(v);
        i++;
    }
    if (count > 1) qsort(e, count, sizeof *e, cmp_entry_name);
    *entries = e;
    *n = count;
    return BR_OK;
}

/* Distinct shard names of entries, sorted, into names[*n] (borrowed strings). */
static br_status distinct_shards(const index_entry *entries, size_t n_entries, const char ***names,
                                 size_t *n, br_error *err) {
    const char **s = br_calloc(n_entries, sizeof *s, err);
    if (!s) return BR_ERR_NOMEM;
    for (size_t i = 0; i < n_entries; i++) s[i] = entries[i].shard;
    if (n_entries > 1) qsort(s, n_entries, sizeof *s, cmp_str_ptr);
    size_t k = 0;
    for (size_t i = 0; i < n_entries; i++)
        if (k == 0 || strcmp(s[k - 1], s[i]) != 0) s[k++] = s[i];
    *names = s;
    *n = k;
    return BR_OK;
}

static size_t find_shard(const char *const *names, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid], name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return n;
}

/* Joins each shard name onto dir into paths[i] (owned by the caller). */
static br_status shard_paths(const char *dir, const char *const *names, size_t n, char **paths,
                             br_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!(paths[i] = br_path_join(dir, names[i], err))) return BR_ERR_NOMEM;
    return BR_OK;
}

/* Fails on the first missing shard (in sorted order), naming a tensor in it. */
static br_status check_shards_exist(const char *index_path, const char *const *names,
                                    char *const *paths, size_t n, const index_entry *entries,
                                    size_t n_entries, br_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (br_file_exists(paths[i])) continue;
        const char *tensor = "?";
        for (size_t j = 0; j < n_entries; j++)
            if (strcmp(entries[j].shard, names[i]) == 0) {
                tensor = entries[j].name;
                break;
            }
        return BR_FAIL(err, BR_ERR_IO,
                       "%s: shard file %s does not exist (it holds tensor '%s', per %s)", paths[i],
                       names[i], tensor, index_path);
    }
    return BR_OK;
}

static br_status open_shards(br_st_archive *a, char *const *paths, size_t n, br_error *err) {
    a->shards = br_calloc(n, sizeof *a->shards, err);
    if (!a->shards) return BR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        BR_TRY(st_shard_open(paths[i], &a->shards[i], err));
        a->n_shards = i + 1;
    }
    return BR_OK;
}

/* Fails if a tensor name appears in two shards. */
static br_status check_no_duplicates(const char *index_path, const br_st_archive *a, br_error *err) {
    if (a->n_shards < 2) return BR_OK;
    size_t total = 0;
    for (size_t i = 0; i < a->n_shards; i++) total += a->shards[i].n_tensors;
    br_st_tensor *all = br_calloc(total, sizeof *all, err);
    if (!all) return BR_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < a->n_shards; i++)
        for (size_t j = 0; j < a->shards[i].n_tensors; j++) all[k++] = a->shards[i].tensors[j];
    st_tensors_sort(all, total);
    br_status st = BR_OK;
    for (size_t i = 1; i < total && st == BR_OK; i++)
        if (strcmp(all[i - 1].name, all[i].name) == 0)
            st = BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: tensor '%s' appears in two shards: %s and %s",
                         index_path, all[i].name, all[i - 1].file, all[i].file);
    free(all);
    return st;
}

/* Each indexed name, looked up in its shard, becomes one archive tensor. */
static br_status resolve_entries(const char *index_path, br_st_archive *a, const char *const *names,
                                 const index_entry *entries, size_t n_entries, br_error *err) {
    a->tensors = br_calloc(n_entries, sizeof *a->tensors, err);
    if (!a->tensors) return BR_ERR_NOMEM;
    for (size_t i = 0; i < n_entries; i++) {
        const st_shard *s = &a->shards[find_shard(names, a->n_shards, entries[i].shard)];
        const br_st_tensor *t = st_tensors_find(s->tensors, s->n_tensors, entries[i].name);
        if (!t)
            return BR_FAIL(err, BR_ERR_CHECKPOINT,
                           "%s: tensor '%s' is listed for shard %s, which does not hold it (%s)",
                           index_path, entries[i].name, entries[i].shard, s->path);
        a->tensors[i] = *t; /* entries are sorted by name, so tensors are too */
        a->n_tensors = i + 1;
    }
    return BR_OK;
}

br_status br_st_open_index(const char *index_path, br_st_archive **out, br_error *err) {
    if (!index_path || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_st_open_index: NULL argument");
    *out = NULL;
    json_t *root = NULL;
    index_entry *entries = NULL;
    const char **names = NULL;
    char **paths = NULL;
    char *dir = NULL;
    size_t n_entries = 0, n_names = 0;
    br_st_archive *a = NULL;

    br_status st = br_json_load_file(index_path, &root, err);
    if (st == BR_OK) st = read_weight_map(index_path, root, &entries, &n_entries, err);
    if (st == BR_OK) st = distinct_shards(entries, n_entries, &names, &n_names, err);
    if (st == BR_OK) st = (dir = dir_of(index_path, err)) ? BR_OK : BR_ERR_NOMEM;
    if (st == BR_OK) st = (paths = br_calloc(n_names, sizeof *paths, err)) ? BR_OK : BR_ERR_NOMEM;
    if (st == BR_OK) st = shard_paths(dir, names, n_names, paths, err);
    if (st == BR_OK) st = check_shards_exist(index_path, names, paths, n_names, entries, n_entries, err);
    if (st == BR_OK) st = (a = br_calloc(1, sizeof *a, err)) ? BR_OK : BR_ERR_NOMEM;
    if (st == BR_OK) st = open_shards(a, paths, n_names, err);
    if (st == BR_OK) st = check_no_duplicates(index_path, a, err);
    if (st == BR_OK) st = resolve_entries(index_path, a, names, entries, n_entries, err);

    if (st != BR_OK) {
        br_st_close(a);
        a = NULL;
    }
    for (size_t i = 0; paths && i < n_names; i++) free(paths[i]);
    free(paths);
    free(dir);
    free(names);
    free(entries);
    if (root) json_decref(root);
    *out = a;
    return st;
}

br_status br_st_open_dir(const char *dir, br_st_archive **out, br_error *err) {
    if (!dir || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_st_open_dir: NULL argument");
    *out = NULL;
    char *single = br_path_join(dir, "model.safetensors", err);
    char *index = single ? br_path_join(dir, "model.safetensors.index.json", err) : NULL;
    br_status st;
    if (!single || !index) st = BR_ERR_NOMEM;
    else if (br_file_exists(single)) st = br_st_open_file(single, out, err);
    else if (br_file_exists(index)) st = br_st_open_index(index, out, err);
    else
        st = BR_FAIL(err, BR_ERR_IO, "%s: no safetensors checkpoint: looked for %s and %s", dir,
                     single, index);
    free(single);
    free(index);
    return st;
}

size_t br_st_count(const br_st_archive *a) { return a ? a->n_tensors : 0; }

const br_st_tensor *br_st_at(const br_st_archive *a, size_t i) {
    return a && i < a->n_tensors ? &a->tensors[i] : NULL;
}

const br_st_tensor *br_st_find(const br_st_archive *a, const char *name) {
    return a && name ? st_tensors_find(a->tensors, a->n_tensors, name) : NULL;
}

const char *br_st_metadata(const br_st_archive *a, const char *key) {
    if (!a || !key) return NULL;
    for (size_t i = 0; i < a->n_shards; i++) {
        const char *v = st_shard_metadata(&a->shards[i], key);
        if (v) return v;
    }
    return NULL;
}
