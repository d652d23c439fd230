/* report.c - the reporter: sums per-worker counters into console lines and
 * the summary JSON.  Runs on the main thread while workers count. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "ringsniff.h"

double rs_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t rs_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Add a counter struct made only of uint64_t fields, reading each with a
 * relaxed atomic load: the owning worker may be incrementing it right now,
 * and a torn read of a 64-bit counter is impossible that way. */
static void add_u64s(void *dst, const void *src, size_t size)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

#define ADD_STATS(dst, src) do { \
	_Static_assert(sizeof(*(dst)) % sizeof(uint64_t) == 0, "u64 only"); \
	add_u64s((dst), (src), sizeof(*(dst))); } while (0)

void rs_worker_flow_stats(struct rs_worker *w, struct rs_flow_stats *acc)
{
	pthread_mutex_lock(&w->stats_lock);
	const struct rs_flow_stats *fs =
		atomic_load_explicit(&w->fstats, memory_order_acquire);
	if (fs)
		ADD_STATS(acc, fs);
	pthread_mutex_unlock(&w->stats_lock);
}

void rs_totals_collect(struct rs_app *app, struct rs_totals *t)
{
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct rs_worker *w = &app->workers[i];
		ADD_STATS(&t->d, &w->dstats);
		ADD_STATS(&t->h, &w->http.stats);
		t->frames += __atomic_load_n(&w->frames, __ATOMIC_RELAXED);
		t->filtered += __atomic_load_n(&w->filtered, __ATOMIC_RELAXED);
		rs_worker_flow_stats(w, &t->f);
		if (w->ring) {
			struct rs_ring_stats rsx;
			if (rs_ring_stats(w->ring, &rsx) == 0) {
				t->ring.packets += rsx.packets;
				t->ring.drops += rsx.drops;
				t->ring.freezes += rsx.freezes;
			}
		}
	}
	if (app->pcapw)
		rs_pcapw_stats(app->pcapw, &t->pcapw);
	else
		t->pcapw = app->pcapw_final;
	if (app->watch)
		rs_watch_stats(app->watch, &t->watch);
	if (app->ebpf && rs_ebpf_filter_counters(app->ebpf, &t->ebpf) == 0)
		t->have_ebpf = true;
	if (app->live) {
		uint64_t dropped = 0, missed = 0;
		if (rs_iface_drops(app->opts.iface, &dropped, &missed) == 0)
			t->iface_drops = dropped + missed;
	}
}

static uint64_t sum4(const uint64_t v[RS_EBPF_PROTOS])
{
	uint64_t s = 0;
	for (int i = 0; i < RS_EBPF_PROTOS; i++)
		s += v[i];
	return s;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void rs_report_line(struct rs_app *app, const struct rs_totals *now,
		    const struct rs_totals *prev, double dt, FILE *fp)
{
	if (dt <= 0)
		dt = 1e-9;
	uint64_t dpk = now->d.packets - prev->d.packets;
	uint64_t dby = now->d.bytes - prev->d.bytes;
	uint64_t ddr = now->ring.drops - prev->ring.drops;
	uint64_t drq = now->h.requests - prev->h.requests;
	double elapsed = rs_mono() - app->start_mono;
	fprintf(fp, "[%7.1fs] %10.0f pkt/s %9.2f Mbit/s  drops %" PRIu64
		" (%.2f%%) total %" PRIu64 " (%.2f%%)  freezes %" PRIu64
		"  flows %" PRIu64 "  http %.0f req/s\n",
		elapsed, (double)dpk / dt, (double)dby * 8 / dt / 1e6, ddr,
		pct(ddr, dpk + ddr), now->ring.drops,
		pct(now->ring.drops, now->d.packets + now->ring.drops),
		now->ring.freezes, now->f.flows_active, (double)drq / dt);
	if (now->have_ebpf)
		fprintf(fp, "           ebpf: passed %" PRIu64 " (+%" PRIu64
			")  filtered in kernel %" PRIu64 " (+%" PRIu64 ")\n",
			sum4(now->ebpf.passed_pkts),
			sum4(now->ebpf.passed_pkts) - sum4(prev->ebpf.passed_pkts),
			sum4(now->ebpf.dropped_pkts),
			sum4(now->ebpf.dropped_pkts) - sum4(prev->ebpf.dropped_pkts));
	if (app->opts.verbose) {
		for (unsigned i = 0; i < app->nworkers; i++) {
			struct rs_worker *w = &app->workers[i];
			struct rs_flow_stats fs;
			memset(&fs, 0, sizeof fs);
			rs_worker_flow_stats(w, &fs);
			fprintf(fp, "    worker %u (cpu %d): %" PRIu64 " packets, %"
				PRIu64 " flows active, %" PRIu64
				" http requests, %" PRIu64 " wrong-worker\n",
				i, w->cpu,
				__atomic_load_n(&w->dstats.packets, __ATOMIC_RELAXED),
				fs.flows_active,
				__atomic_load_n(&w->http.stats.requests, __ATOMIC_RELAXED),
				fs.wrong_worker);
		}
	}
}

void rs_report_final(struct rs_app *app, const struct rs_totals *t, FILE *fp)
{
	fprintf(fp, "ringsniff: %" PRIu64 " packets (%" PRIu64 " bytes)",
		t->d.packets, t->d.bytes);
	if (t->filtered)
		fprintf(fp, ", %" PRIu64 " filtered out", t->filtered);
	if (app->live)
		fprintf(fp, ", %" PRIu64 " kernel drops (%.2f%%), %" PRIu64
			" freezes, %" PRIu64 " interface drops",
			t->ring.drops,
			pct(t->ring.drops, t->d.packets + t->ring.drops),
			t->ring.freezes, t->iface_drops);
	fprintf(fp, ", %" PRIu64 " decode errors\n", t->d.errors);
	fprintf(fp, "  ipv4 %" PRIu64 "  ipv6 %" PRIu64 "  tcp %" PRIu64
		"  udp %" PRIu64 "  icmp %" PRIu64 "  icmpv6 %" PRIu64
		"  vlan %" PRIu64 "  fragments %" PRIu64 "\n",
		t->d.ipv4, t->d.ipv6, t->d.tcp, t->d.udp, t->d.icmp,
		t->d.icmpv6, t->d.vlan, t->d.fragments);
	fprintf(fp, "  flows %" PRIu64 " (evicted %" PRIu64 ", timed out %"
		PRIu64 ")  tcp gaps %" PRIu64 "  http requests %" PRIu64
		"  responses %" PRIu64 "\n",
		t->f.flows_created, t->f.flows_evicted, t->f.flows_timeout,
		t->f.tcp_gaps, t->h.requests, t->h.responses);
	if (app->opts.write_path)
		fprintf(fp, "  -w: %" PRIu64 " packets in %" PRIu64 " file%s, %"
			PRIu64 " dropped (queue full), %" PRIu64 " write errors\n",
			t->pcapw.packets, t->pcapw.files, t->pcapw.files == 1 ? "" : "s",
			t->pcapw.dropped, t->pcapw.write_errors);
	if (app->opts.watch_dir)
		fprintf(fp, "  --watch: %" PRIu64 " files (%" PRIu64 " damaged, %" PRIu64
			" lost, %" PRIu64 " overwritten before read)\n",
			t->watch.files, t->watch.bad_files, t->watch.lost_files,
			t->watch.overwritten);
	if (t->have_ebpf)
		fprintf(fp, "  ebpf filter (kernel): passed %" PRIu64 " packets, "
			"dropped %" PRIu64 " (tcp %" PRIu64 ", udp %" PRIu64
			", icmp %" PRIu64 ", other %" PRIu64 ")\n",
			sum4(t->ebpf.passed_pkts), sum4(t->ebpf.dropped_pkts),
			t->ebpf.dropped_pkts[RS_EBPF_TCP], t->ebpf.dropped_pkts[RS_EBPF_UDP],
			t->ebpf.dropped_pkts[RS_EBPF_ICMP], t->ebpf.dropped_pkts[RS_EBPF_OTHER]);
	if (app->replay)
		rs_replay_report_line(app->replay, fp);
	for (int e = 1; e < RS_DERR__COUNT; e++)
		if (t->d.err[e])
			fprintf(fp, "  decode error %s: %" PRIu64 "\n",
				rs_decode_err_name(e), t->d.err[e]);
}

#define J(name, val) fprintf(fp, "%s\n  \"%s\": %" PRIu64, sep(&first), name, (uint64_t)(val))

static const char *sep(bool *first)
{
	const char *s = *first ? "" : ",";
	*first = false;
	return s;
}

int rs_report_json(struct rs_app *app, const struct rs_totals *t, FILE *fp)
{
	const char *path = app->opts.summary_json;
	bool first = true;
	/* Lines still in the (stopped) workers' buffers count too: they are
	 * written when the buffers are flushed at exit. */
	uint64_t http_lines = app->http_sink.lines, flow_lines = app->flow_sink.lines;
	for (unsigned i = 0; i < app->nworkers; i++) {
		http_lines += app->workers[i].http_out.lines;
		flow_lines += app->workers[i].flow_out.lines;
	}
	fputs("{", fp);
	/* The contract's keys first. */
	J("packets", t->d.packets);
	J("bytes", t->d.bytes);
	J("kernel_drops", t->ring.drops);
	J("kernel_freezes", t->ring.freezes);
	J("decode_errors", t->d.errors);
	J("flows", t->f.flows_created);
	J("tcp_gaps", t->f.tcp_gaps);
	J("http_requests", t->h.requests);
	J("http_responses", t->h.responses);
	/* Then everything else. */
	J("frames_seen", t->frames);
	J("filtered_out", t->filtered);
	J("kernel_packets", t->ring.packets);
	J("interface_drops", t->iface_drops);
	J("ipv4", t->d.ipv4);
	J("ipv6", t->d.ipv6);
	J("tcp", t->d.tcp);
	J("udp", t->d.udp);
	J("icmp", t->d.icmp);
	J("icmpv6", t->d.icmpv6);
	J("vlan", t->d.vlan);
	J("fragments", t->d.fragments);
	J("other_l3", t->d.other_l3);
	J("other_l4", t->d.other_l4);
	J("flows_ended", t->f.flows_ended);
	J("flows_active", t->f.flows_active);
	J("flows_evicted", t->f.flows_evicted);
	J("flows_timeout", t->f.flows_timeout);
	J("flows_wrong_worker", t->f.wrong_worker);
	J("tcp_tuple_reuse", t->f.tuple_reuse);
	J("tcp_midstream", t->f.midstream);
	J("tcp_segments", t->f.tcp_segments);
	J("tcp_gap_bytes", t->f.gap_bytes);
	J("tcp_ooo_segments", t->f.ooo_segments);
	J("tcp_ooo_bytes", t->f.ooo_bytes);
	J("tcp_ooo_dropped", t->f.ooo_dropped);
	J("tcp_retransmits", t->f.retransmits);
	J("tcp_overlaps", t->f.overlaps);
	J("tcp_overlap_mismatch", t->f.overlap_mismatch);
	J("flows_refused", t->f.flows_refused);
	J("flow_insert_races", t->f.insert_races);
	J("pkts_not_flow", t->f.pkts_skipped);
	J("alloc_failures", t->f.alloc_failures);
	J("http_transactions", t->h.txns);
	J("http_gaps", t->h.gaps);
	J("http_resyncs", t->h.resyncs);
	J("http_parse_errors", t->h.parse_errors);
	J("http_truncated", t->h.truncated);
	J("http_smuggling", t->h.smuggling);
	J("http_upgrades", t->h.upgrades);
	J("http_unanswered", t->h.unanswered);
	J("http_not_http", t->h.not_http);
	J("http_orphan_responses", t->h.orphan_responses);
	J("http_evicted", t->h.evicted);
	J("http_alloc_failures", t->h.alloc_failures);
	J("http_log_lines", http_lines);
	J("flow_log_lines", flow_lines);
	if (app->opts.write_path) {
		J("pcap_packets", t->pcapw.packets);
		J("pcap_bytes", t->pcapw.bytes);
		J("pcap_files", t->pcapw.files);
		J("pcap_dropped", t->pcapw.dropped);
		J("pcap_lost", t->pcapw.lost);
		J("pcap_write_errors", t->pcapw.write_errors);
	}
	if (app->opts.watch_dir) {
		J("watch_files", t->watch.files);
		J("watch_files_done", t->watch.files_done);
		J("watch_bad_files", t->watch.bad_files);
		J("watch_lost_files", t->watch.lost_files);
		J("watch_overwritten", t->watch.overwritten);
		J("watch_overflows", t->watch.overflows);
	}
	if (t->have_ebpf) {
		static const char *const pn[RS_EBPF_PROTOS] = {"tcp", "udp", "icmp", "other"};
		char k[64];
		J("ebpf_passed_packets", sum4(t->ebpf.passed_pkts));
		J("ebpf_passed_bytes", sum4(t->ebpf.passed_bytes));
		J("ebpf_dropped_packets", sum4(t->ebpf.dropped_pkts));
		J("ebpf_dropped_bytes", sum4(t->ebpf.dropped_bytes));
		for (int i = 0; i < RS_EBPF_PROTOS; i++) {
			snprintf(k, sizeof k, "ebpf_passed_%s", pn[i]);
			J(k, t->ebpf.passed_pkts[i]);
			snprintf(k, sizeof k, "ebpf_dropped_%s", pn[i]);
			J(k, t->ebpf.dropped_pkts[i]);
		}
	}
	if (app->replay)  /* replay_sent, replay_2xx, ..., replay_latency_ms_p99 */
		rs_replay_report_json(app->replay, fp);
	fprintf(fp, ",\n  \"decode_errors_by_reason\": {");
	bool f2 = true;
	for (int e = 1; e < RS_DERR__COUNT; e++)
		fprintf(fp, "%s\n    \"%s\": %" PRIu64, sep(&f2),
			rs_decode_err_name(e), t->d.err[e]);
	fprintf(fp, "\n  },\n  \"workers\": %u,\n  \"worker_packets\": [", app->nworkers);
	for (unsigned i = 0; i < app->nworkers; i++)
		fprintf(fp, "%s%" PRIu64, i ? ", " : "",
			__atomic_load_n(&app->workers[i].dstats.packets, __ATOMIC_RELAXED));
	fprintf(fp, "]\n}\n");
	int rc = 0;
	if (fflush(fp) != 0 || ferror(fp))
		rc = -(errno ? errno : EIO);
	if (fp != stdout && fclose(fp) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		fprintf(stderr, "ringsniff: writing %s: %s\n", path, strerror(-rc));
	return rc;
}
