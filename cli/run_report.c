/*
 * run_report.c - what `run` says once CMD has ended: the listing of the
 * cache (to stderr for a temporary cache, or --report FILE), records
 * dropped or skipped, and why nothing was recorded when nothing was.
 */
#include "cli.h"

/* Why nothing was recorded, when nothing was and run has not said why. */
static void explain_nothing(const char *path, const struct cache_stats *st,
			    const struct run_facts *f)
{
	if (!f->cmd_ran || f->is_static || f->unwritable || !f->have_before)
		return;
	uint64_t before = f->records_before + f->own_records;
	uint64_t cmd_records = st->records > before ? st->records - before : 0;
	bool attached = st->attaches > f->attaches_before || cmd_records > 0;
	if (!attached)
		cli_warn("%s: nothing was recorded: no process of the command "
			 "attached the cache (the shim was not loaded into it, "
			 "or could not attach: %s)", path,
			 f->debug ? "see the shim's messages above"
				  : "run with --debug to see why");
	else if (cmd_records == 0 && st->skipped_toolong == 0 &&
		 st->skipped_full == 0)
		cli_note("%s: nothing was recorded: the command named no file",
			 path);
}

bool cli_report(const char *path, FILE *out, const struct run_facts *f)
{
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return false;
	struct entry_list l = { 0 };
	bool ok = true;
	if (out != NULL) {
		ok = cli_load_entries(&cache, path, &l);
		int width = count_width(&l);
		for (size_t i = 0; i < l.n; i++)
			print_entry_line(out, &l.v[i], width);
	}
	struct cache_stats st;
	/* with the walk: records, the sum of the hit counts, tell CMD's
	 * records from those made before it and run's own */
	if (cache_stats(&cache, &st, f->have_before) == CACHE_OK) {
		if (st.skipped_full > 0)
			cli_warn("%s: %llu records were dropped because the "
				 "cache was full: the listing is incomplete",
				 path, (unsigned long long)st.skipped_full);
		if (st.skipped_toolong > 0)
			cli_warn("%s: %llu records were skipped: path longer "
				 "than %zu bytes", path,
				 (unsigned long long)st.skipped_toolong,
				 cache_max_key());
		explain_nothing(path, &st, f);
	}
	entry_list_free(&l);
	cache_detach(&cache);
	return ok;
}
