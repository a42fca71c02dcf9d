/*
 * Writes MMV files with PCP's own C library (libpcp_mmv), so test/reader.test.ts can check
 * that our reader decodes another writer's files exactly as that writer set them.
 *
 * Usage: PCP_TMP_DIR=<dir with mmv/> reader_fixture
 * Creates $PCP_TMP_DIR/mmv/reader_v1 (version 1) and $PCP_TMP_DIR/mmv/reader_v3 (labels make
 * it version 3). No PROCESS flag, so both files outlive this program.
 */
#include <pcp/pmapi.h>
#include <pcp/mmv_stats.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(expr)                                                        \
    do {                                                                   \
        if ((expr) < 0) {                                                  \
            fprintf(stderr, "reader_fixture: %s failed\n", #expr);         \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

/*
 * mmv_stats_add_instance returns -1 (EINVAL) even on success in PCP 6.0.3: its lookup loop
 * never breaks, so it always ends as "indom not found". The instance is added regardless.
 */
static void
add_instance(mmv_registry_t *reg, int serial, int id, const char *name)
{
    (void)mmv_stats_add_instance(reg, serial, id, name);
}

static pmUnits count_units = MMV_UNITS(0, 0, 1, 0, 0, 0);
static pmUnits msec_units = MMV_UNITS(0, 1, 0, 0, PM_TIME_MSEC, 0);
static pmUnits mib_per_sec = MMV_UNITS(1, -1, 0, PM_SPACE_MBYTE, PM_TIME_SEC, 0);
static pmUnits bytes_units = MMV_UNITS(1, 0, 0, PM_SPACE_BYTE, 0, 0);
static pmUnits no_units = MMV_UNITS(0, 0, 0, 0, 0, 0);

static void
write_v1(void)
{
    mmv_registry_t *reg = mmv_stats_registry("reader_v1", 321, 0);
    void *map;

    if (reg == NULL) {
        perror("mmv_stats_registry");
        exit(1);
    }
    CHECK(mmv_stats_add_indom(reg, 7, "Request routes", "Each HTTP route the app serves."));
    add_instance(reg, 7, 1, "alpha");
    add_instance(reg, 7, 2, "beta");

    CHECK(mmv_stats_add_metric(reg, "requests", 1, MMV_TYPE_U64, MMV_SEM_COUNTER,
                               count_units, PM_INDOM_NULL, "Requests served",
                               "Total requests served since start."));
    CHECK(mmv_stats_add_metric(reg, "latency", 2, MMV_TYPE_DOUBLE, MMV_SEM_INSTANT,
                               msec_units, 7, "Latency per route", NULL));
    CHECK(mmv_stats_add_metric(reg, "temperature", 3, MMV_TYPE_I32, MMV_SEM_INSTANT,
                               no_units, PM_INDOM_NULL, NULL, NULL));
    CHECK(mmv_stats_add_metric(reg, "throughput", 4, MMV_TYPE_FLOAT, MMV_SEM_INSTANT,
                               mib_per_sec, PM_INDOM_NULL, "Throughput", NULL));
    CHECK(mmv_stats_add_metric(reg, "heap", 5, MMV_TYPE_I64, MMV_SEM_DISCRETE,
                               bytes_units, PM_INDOM_NULL, NULL, "Heap size at start."));
    CHECK(mmv_stats_add_metric(reg, "workers", 6, MMV_TYPE_U32, MMV_SEM_DISCRETE,
                               count_units, PM_INDOM_NULL, NULL, NULL));
    CHECK(mmv_stats_add_metric(reg, "status", 7, MMV_TYPE_STRING, MMV_SEM_DISCRETE,
                               no_units, PM_INDOM_NULL, "Service status", NULL));
    CHECK(mmv_stats_add_metric(reg, "busy", 8, MMV_TYPE_ELAPSED, MMV_SEM_COUNTER,
                               no_units, PM_INDOM_NULL, NULL, NULL));

    if ((map = mmv_stats_start(reg)) == NULL) {
        perror("mmv_stats_start reader_v1");
        exit(1);
    }
    mmv_stats_set(map, "requests", NULL, 42);
    mmv_stats_set(map, "latency", "alpha", 1.5);
    mmv_stats_set(map, "latency", "beta", 2.25);
    mmv_stats_set(map, "temperature", NULL, -5);
    mmv_stats_set(map, "throughput", NULL, 0.5);
    mmv_stats_set(map, "heap", NULL, 5000000000.0);
    mmv_stats_set(map, "workers", NULL, 4);
    mmv_stats_set_string(map, "status", NULL, "ok");
    mmv_stats_set(map, "busy", NULL, 1234);
}

static void
write_v3(void)
{
    mmv_registry_t *reg = mmv_stats_registry("reader_v3", 322, MMV_FLAG_NOPREFIX);
    void *map;

    if (reg == NULL) {
        perror("mmv_stats_registry");
        exit(1);
    }
    CHECK(mmv_stats_add_indom(reg, 3, "Queues", NULL));
    add_instance(reg, 3, 10, "queue_with_a_name_that_is_longer_than_sixty_three_bytes_so_v2_strings");
    add_instance(reg, 3, 11, "short");
    CHECK(mmv_stats_add_metric(reg, "queue.depth", 1, MMV_TYPE_U32, MMV_SEM_INSTANT,
                               count_units, 3, "Queue depth", NULL));
    CHECK(mmv_stats_add_metric(reg, "uptime", 2, MMV_TYPE_U64, MMV_SEM_COUNTER,
                               msec_units, PM_INDOM_NULL, NULL, NULL));
    CHECK(mmv_stats_add_registry_label(reg, "app", "\"shop\"", MMV_STRING_TYPE, 0));
    CHECK(mmv_stats_add_metric_label(reg, 1, "kind", "\"gauge\"", MMV_STRING_TYPE, 1));
    CHECK(mmv_stats_add_indom_label(reg, 3, "shards", "4", MMV_NUMBER_TYPE, 0));
    CHECK(mmv_stats_add_instance_label(reg, 3, 11, "fast", "true", MMV_BOOLEAN_TYPE, 0));

    if ((map = mmv_stats_start(reg)) == NULL) {
        perror("mmv_stats_start reader_v3");
        exit(1);
    }
    mmv_stats_set(map, "queue.depth", "queue_with_a_name_that_is_longer_than_sixty_three_bytes_so_v2_strings", 17);
    mmv_stats_set(map, "queue.depth", "short", 3);
    mmv_stats_set(map, "uptime", NULL, 9000);
}

int
main(void)
{
    write_v1();
    write_v3();
    return 0;
}
