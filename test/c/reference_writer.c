/*
 * PCP's own MMV writer (libpcp_mmv) producing the metric set of reference-set.ts,
 * so tests can compare how pmdammv presents a file written by C and by us.
 *
 * Usage: reference_writer <name>   writes $PCP_TMP_DIR/mmv/<name> and exits.
 * Flags are 0 (no PROCESS), so the file outlives this process; names stay
 * under 64 bytes and there are no labels, so the file is version 1.
 */
#include <pcp/pmapi.h>
#include <pcp/mmv_stats.h>
#include <stdio.h>
#include <stdlib.h>

/* Must match referenceSet.cluster and the indom serials in reference-set.ts. */
#define CLUSTER 123
#define PRODUCTS 61
#define QUEUES 62
/* PM_INDOM_NULL as the int mmv_stats_add_metric takes (the enum constant overflows int). */
#define NO_INDOM (-1)

/*
 * UNITS(dimSpace, dimTime, dimCount, scaleSpace, scaleTime, scaleCount);
 * MMV_UNITS is a bare initializer, so it needs a cast to be an argument.
 */
#define UNITS(...) ((pmUnits)MMV_UNITS(__VA_ARGS__))
#define NONE UNITS(0, 0, 0, 0, 0, 0)
#define COUNT UNITS(0, 0, 1, 0, 0, PM_COUNT_ONE)
#define USEC UNITS(0, 1, 0, 0, PM_TIME_USEC, 0)

static int failed;

static void
check(int sts, const char *what)
{
    if (sts < 0) {
	fprintf(stderr, "reference_writer: %s failed\n", what);
	failed = 1;
    }
}

static void
metric(mmv_registry_t *r, const char *name, int item, mmv_metric_type_t type,
	mmv_metric_sem_t sem, pmUnits units, int indom,
	const char *shorthelp, const char *longhelp)
{
    check(mmv_stats_add_metric(r, name, item, type, sem, units, indom,
			       shorthelp, longhelp), name);
}

/* mmv_stats_set goes through a double, which cannot carry every 64-bit value. */
static pmAtomValue *
slot(void *map, const char *name, const char *inst)
{
    pmAtomValue *atom = mmv_lookup_value_desc(map, name, inst);

    if (atom == NULL) {
	fprintf(stderr, "reference_writer: no value slot for %s[%s]\n",
		name, inst ? inst : "");
	exit(1);
    }
    return atom;
}

int
main(int argc, char **argv)
{
    mmv_registry_t *r;
    void *map;

    if (argc != 2) {
	fprintf(stderr, "usage: %s <name>\n", argv[0]);
	return 2;
    }
    if ((r = mmv_stats_registry(argv[1], CLUSTER, 0)) == NULL) {
	perror("mmv_stats_registry");
	return 1;
    }

    /* PCP's classic "acme" example. */
    check(mmv_stats_add_indom(r, PRODUCTS, "Acme products",
			      "Most popular products of the Acme Corporation"), "indom products");
    /*
     * mmv_stats_add_instance returns -1 even on success in PCP 6.0.3 (its
     * "indom not found" test runs after a loop with no break), so its result
     * says nothing; a missing instance shows up as a missing value slot below.
     */
    mmv_stats_add_instance(r, PRODUCTS, 0, "Anvils");
    mmv_stats_add_instance(r, PRODUCTS, 1, "Rockets");
    mmv_stats_add_instance(r, PRODUCTS, 2, "Giant_Rubber_Bands");
    metric(r, "products.count", 7, MMV_TYPE_U64, MMV_SEM_COUNTER, COUNT, PRODUCTS,
	   "Acme factory product throughput",
	   "Monotonic increasing counter of products produced in the Acme Corporation\n"
	   "factory since starting the Acme production application.");
    metric(r, "products.time", 8, MMV_TYPE_U64, MMV_SEM_COUNTER, USEC, PRODUCTS,
	   "Machine time spent producing Acme products", NULL);
    metric(r, "products.queuetime", 10, MMV_TYPE_U64, MMV_SEM_COUNTER, USEC, PRODUCTS,
	   "Queued time while producing Acme products", NULL);

    /* An indom with no instances: its metric has no values at all. */
    check(mmv_stats_add_indom(r, QUEUES, "Work queues", NULL), "indom queues");
    metric(r, "queues.depth", 11, MMV_TYPE_U32, MMV_SEM_INSTANT, COUNT, QUEUES,
	   "Items waiting per queue", NULL);

    /* One singleton of each type. */
    metric(r, "types.i32", 20, MMV_TYPE_I32, MMV_SEM_INSTANT, NONE, NO_INDOM,
	   "Signed 32-bit instant", "A negative value, to show the sign survives.");
    metric(r, "types.u32", 21, MMV_TYPE_U32, MMV_SEM_DISCRETE, COUNT, NO_INDOM,
	   "Unsigned 32-bit discrete", "Above 2^31, to show it is read unsigned.");
    metric(r, "types.i64", 22, MMV_TYPE_I64, MMV_SEM_INSTANT,
	   UNITS(0, 1, 0, 0, PM_TIME_NSEC, 0), NO_INDOM,
	   "Signed 64-bit instant", "Below -2^53, so a double cannot hold it.");
    metric(r, "types.u64", 23, MMV_TYPE_U64, MMV_SEM_COUNTER,
	   UNITS(1, 0, 0, PM_SPACE_BYTE, 0, 0), NO_INDOM,
	   "Unsigned 64-bit counter", "The largest unsigned 64-bit value.");
    metric(r, "types.float", 24, MMV_TYPE_FLOAT, MMV_SEM_INSTANT,
	   UNITS(1, 0, 0, PM_SPACE_KBYTE, 0, 0), NO_INDOM,
	   "32-bit float", "Exactly representable, so printing is unambiguous.");
    metric(r, "types.double", 25, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(1, -1, 0, PM_SPACE_MBYTE, PM_TIME_SEC, 0), NO_INDOM,
	   "64-bit double", "Needs all of a double's digits.");
    metric(r, "types.string", 26, MMV_TYPE_STRING, MMV_SEM_DISCRETE, NONE, NO_INDOM,
	   "A string", "Contains quotes and a comma, which pminfo prints unescaped.");

    /* Units as pmUnitsStr renders them. */
    metric(r, "units.kib_per_sec", 30, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(1, -1, 0, PM_SPACE_KBYTE, PM_TIME_SEC, 0), NO_INDOM,
	   "KiB per second", NULL);
    metric(r, "units.msec", 31, MMV_TYPE_U64, MMV_SEM_COUNTER,
	   UNITS(0, 1, 0, 0, PM_TIME_MSEC, 0), NO_INDOM,
	   "Milliseconds", NULL);
    metric(r, "units.count_per_sec", 32, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(0, -1, 1, 0, PM_TIME_SEC, PM_COUNT_ONE), NO_INDOM,
	   "Events per second", NULL);
    metric(r, "units.kilocount", 33, MMV_TYPE_U64, MMV_SEM_COUNTER,
	   UNITS(0, 0, 1, 0, 0, 3), NO_INDOM,
	   "Thousands of events", NULL);
    metric(r, "units.centicount", 34, MMV_TYPE_I32, MMV_SEM_INSTANT,
	   UNITS(0, 0, 1, 0, 0, -2), NO_INDOM,
	   "Hundredths of an event", NULL);
    metric(r, "units.per_hour", 35, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(0, -1, 0, 0, PM_TIME_HOUR, 0), NO_INDOM,
	   "A rate with no count dimension", NULL);
    metric(r, "units.byte_squared", 36, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(2, 0, 0, PM_SPACE_BYTE, 0, 0), NO_INDOM,
	   "Dimension 2, which speed encodes wrongly", NULL);
    metric(r, "units.gib_per_count", 37, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
	   UNITS(1, 0, -1, PM_SPACE_GBYTE, 0, PM_COUNT_ONE), NO_INDOM,
	   "GiB per item", NULL);
    metric(r, "units.hours", 38, MMV_TYPE_U32, MMV_SEM_DISCRETE,
	   UNITS(0, 1, 0, 0, PM_TIME_HOUR, 0), NO_INDOM,
	   "Whole hours", NULL);
    metric(r, "units.none", 39, MMV_TYPE_U32, MMV_SEM_DISCRETE, NONE, NO_INDOM,
	   NULL, NULL);

    if (failed)
	return 1;
    if ((map = mmv_stats_start(r)) == NULL) {
	perror("mmv_stats_start");
	return 1;
    }

    mmv_stats_set(map, "products.count", "Anvils", 42);
    mmv_stats_set(map, "products.count", "Rockets", 7);
    mmv_stats_set(map, "products.count", "Giant_Rubber_Bands", 1000000);
    mmv_stats_set(map, "products.time", "Anvils", 1500);
    mmv_stats_set(map, "products.time", "Rockets", 250000);
    mmv_stats_set(map, "products.time", "Giant_Rubber_Bands", 0);
    mmv_stats_set(map, "products.queuetime", "Anvils", 30);
    mmv_stats_set(map, "products.queuetime", "Rockets", 4096);
    mmv_stats_set(map, "products.queuetime", "Giant_Rubber_Bands", 12);

    mmv_stats_set(map, "types.i32", NULL, -42);
    mmv_stats_set(map, "types.u32", NULL, 4000000000.0);
    slot(map, "types.i64", NULL)->ll = -9007199254740993LL;
    slot(map, "types.u64", NULL)->ull = 18446744073709551615ULL;
    mmv_stats_set(map, "types.float", NULL, 3.25);
    mmv_stats_set(map, "types.double", NULL, 2.718281828459045);
    mmv_stats_set_string(map, "types.string", NULL, "Wile E. Coyote says \"beep, beep\"");

    mmv_stats_set(map, "units.kib_per_sec", NULL, 0.5);
    mmv_stats_set(map, "units.msec", NULL, 1234);
    mmv_stats_set(map, "units.count_per_sec", NULL, 1e-7);
    mmv_stats_set(map, "units.kilocount", NULL, 3);
    mmv_stats_set(map, "units.centicount", NULL, -250);
    mmv_stats_set(map, "units.per_hour", NULL, 12345678.25);
    mmv_stats_set(map, "units.byte_squared", NULL, 1e21);
    mmv_stats_set(map, "units.gib_per_count", NULL, 0.1);
    mmv_stats_set(map, "units.hours", NULL, 24);
    mmv_stats_set(map, "units.none", NULL, 0);

    /* No mmv_stats_free/stop: exit unmaps, and without PROCESS the file stays as written. */
    return 0;
}
