/* thread_tune.c - the automatic thread count: probes of one thread against
 * all of them, repeated while the run lasts (mnet_threads.h). */
#include "mnet_threads.h"

#include <string.h>

/* Interval between probes: at least this many batches, and at least this
 * many seconds of batches at the pace the last probe measured. */
enum { TUNE_MIN_INTERVAL = 16, TUNE_MAX_GROUP = 256 };
#define TUNE_INTERVAL_S 20.0
/* a slot of the probe lasts at least this long: short batches are timed
 * in groups, so that one hiccup of the machine does not decide */
#define TUNE_SLOT_S 0.025
/* the first probe waits for this much training too (the first batches
 * fault the arena's pages in and warm the caches) */
#define TUNE_WARMUP_S 0.25
/* one thread is kept only when clearly faster */
#define TUNE_MARGIN 0.95

void mnet_tune_init(mnet_thread_tuner *t, int n_max)
{
    memset(t, 0, sizeof *t);
    t->n_max = n_max < 1 ? 1 : n_max;
    t->choice = t->n_max;
    t->asked = t->n_max;
    t->next_probe = MNET_TUNE_WARMUP;
    t->group = 1;
}

/* Slot k of the probe's A B B A A B B A order: 1 for all threads. */
static int probe_is_max(int k)
{
    return ((k + 1) / 2) % 2 == 0;
}

static int probing(const mnet_thread_tuner *t)
{
    const int started = t->in_probe > 0 || t->in_group > 0;
    return t->seen >= t->next_probe && t->in_probe < 2 * MNET_TUNE_PROBE &&
           (started || t->n_probes > 0 || t->elapsed >= TUNE_WARMUP_S);
}

int mnet_tune_pick(mnet_thread_tuner *t)
{
    if (t->n_max <= 1)
        return t->asked = 1;
    if (probing(t)) {
        if (t->in_probe == 0 && t->in_group == 0) /* a probe starts: its slots' size */
            t->group = t->last > 0 && t->last < TUNE_SLOT_S
                           ? (TUNE_SLOT_S / t->last < TUNE_MAX_GROUP ? (int)(TUNE_SLOT_S / t->last) + 1
                                                                    : TUNE_MAX_GROUP)
                           : 1;
        return t->asked = probe_is_max(t->in_probe) ? t->n_max : 1;
    }
    return t->asked = t->choice;
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is 4 */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void mnet_tune_record(mnet_thread_tuner *t, double seconds)
{
    if (t->n_max <= 1)
        return;
    const int in_probe = probing(t);
    t->seen++;
    t->last = seconds;
    t->elapsed += seconds;
    t->batches_one += t->asked == 1;
    if (!in_probe)
        return;
    /* the slot's mean batch, once its group of batches is done */
    t->slot_sum += seconds;
    if (++t->in_group < t->group)
        return;
    const double mean = t->slot_sum / t->group;
    t->slot_sum = 0;
    t->in_group = 0;
    const int k = t->in_probe++;
    if (probe_is_max(k))
        t->t_max[k / 2] = mean; /* slots 0, 3, 4, 7: entries 0, 1, 2, 3 */
    else
        t->t_one[k / 2] = mean; /* slots 1, 2, 5, 6: entries 0, 1, 2, 3 */
    if (t->in_probe < 2 * MNET_TUNE_PROBE)
        return;
    double m_max = median(t->t_max, MNET_TUNE_PROBE), m_one = median(t->t_one, MNET_TUNE_PROBE);
    t->choice = m_one < TUNE_MARGIN * m_max ? 1 : t->n_max;
    t->n_probes++;
    double pace = t->choice == 1 ? m_one : m_max;
    long every = pace > 0 ? (long)(TUNE_INTERVAL_S / pace) : TUNE_MIN_INTERVAL;
    t->next_probe = t->seen + (every > TUNE_MIN_INTERVAL ? every : TUNE_MIN_INTERVAL);
    t->in_probe = 0;
}
