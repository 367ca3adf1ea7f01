/*
 * sup_calls_abi.h - one ABI's table of trapped calls, expanded from
 * sup_calls.def: included once by the file of each ABI (sup_filter.c,
 * sup_calls_x32.c, sup_calls_i386.c) after that ABI's __NR_ numbers, with
 *   SUP_TABLE         the name of the array of struct sup_call
 *   SUP_NTABLE        the name of its count (const unsigned)
 *   SUP_ROW_I386(...) its arguments in the i386 table, nothing elsewhere
 * defined.  It defines the two objects and checks at compile time that the
 * table fits the filter's room (SUP_PROG_MAX): at most 64 rows, at most
 * three of them fstat-like (a 5-instruction block each).
 */
#define SUP_ROW_ALL(...) __VA_ARGS__

#define SUP_CALL(n, abis, k, fo, f1, p1, f2, p2, fl, mo, fx, tr)             \
	SUP_ROW_##abis({ __NR_##n, #n, SUP_##k, SUP_##fo, SUP_TRAP_##tr,     \
			 f1, p1, f2, p2, fl, mo, fx },)
const struct sup_call SUP_TABLE[] = {
#include "sup_calls.def"
};
#undef SUP_CALL
const unsigned SUP_NTABLE = sizeof SUP_TABLE / sizeof SUP_TABLE[0];

_Static_assert(sizeof SUP_TABLE / sizeof SUP_TABLE[0] <= 64,
	       "SUP_PROG_MAX holds one jump a call");
#define SUP_CALL(n, abis, k, fo, f1, p1, f2, p2, fl, mo, fx, tr)             \
	SUP_ROW_##abis(+(SUP_TRAP_##tr == SUP_TRAP_UNLESS_EMPTY_PATH))
_Static_assert(0
#include "sup_calls.def"
	       <= 3, "SUP_PROG_MAX holds three fstat-like blocks an ABI");
#undef SUP_CALL
