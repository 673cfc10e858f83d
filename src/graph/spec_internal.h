/*
 * spec_internal.h - what the spec reader and checker share inside src/graph.
 */
#ifndef BR_GRAPH_SPEC_INTERNAL_H
#define BR_GRAPH_SPEC_INTERNAL_H

#include "braid.h"
#include "graph/spec.h"

/* Whole-spec checks after reading: unit data flow, block input widths
 * (a block used at two widths, e.g. a shared block fed [x, e] in one place
 * and x in another, is an error), adapter targets, and each type's own
 * resolve step (derived sizes, divisibility).  Fills block in_dim/uses. */
br_status br_spec_check(struct br_spec *spec, br_error *err);

#endif /* BR_GRAPH_SPEC_INTERNAL_H */
