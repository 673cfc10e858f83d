/* main.c - the braid command-line tool (placeholder until the executor lands). */
#include <stdio.h>
int main(void) { puts("braid"); return 0; }
