/* opts.c - command line of ringsniff (see README and shared CONTRACT.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ringsniff.h"

enum {
	OPT_WATCH = 256, OPT_FANOUT, OPT_FANOUT_DEFRAG, OPT_FANOUT_ROLLOVER,
	OPT_RING_MB, OPT_BLOCK_KB, OPT_BLOCK_TMO, OPT_EBPF_FILTER,
	OPT_STATS_INTERVAL, OPT_SUMMARY_JSON, OPT_HTTP_LOG, OPT_FLOW_LOG,
	OPT_REPLAY, OPT_DURATION, OPT_DUMP_FILTER, OPT_IGNORE_OUTGOING,
	OPT_MAX_FLOWS, OPT_TMO_NEW, OPT_TMO_EST, OPT_TMO_CLOSED, OPT_TMO_UDP,
	OPT_OOO_MB, OPT_OOO_FLOW_KB, OPT_VERSION, OPT_USER, OPT_PIN,
	OPT_REPLAY_CONNS, OPT_REPLAY_RATE, OPT_REPLAY_PERCENT, OPT_REPLAY_TIMEOUT,
	OPT_REPLAY_HOST, OPT_REPLAY_BODY_KB, OPT_REPLAY_QUEUE_MB, OPT_REPLAY_DRAIN,
};

static const struct option long_opts[] = {
	{"interface", required_argument, NULL, 'i'},
	{"read", required_argument, NULL, 'r'},
	{"watch", required_argument, NULL, OPT_WATCH},
	{"threads", required_argument, NULL, 'T'},
	{"fanout", required_argument, NULL, OPT_FANOUT},
	{"fanout-defrag", no_argument, NULL, OPT_FANOUT_DEFRAG},
	{"fanout-rollover", no_argument, NULL, OPT_FANOUT_ROLLOVER},
	{"ring-mb", required_argument, NULL, OPT_RING_MB},
	{"block-kb", required_argument, NULL, OPT_BLOCK_KB},
	{"block-timeout-ms", required_argument, NULL, OPT_BLOCK_TMO},
	{"snaplen", required_argument, NULL, 's'},
	{"no-promisc", no_argument, NULL, 'p'},
	{"ignore-outgoing", no_argument, NULL, OPT_IGNORE_OUTGOING},
	{"filter", required_argument, NULL, 'f'},
	{"dump-filter", no_argument, NULL, OPT_DUMP_FILTER},
	{"ebpf-filter", required_argument, NULL, OPT_EBPF_FILTER},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"summary-json", required_argument, NULL, OPT_SUMMARY_JSON},
	{"http-log", required_argument, NULL, OPT_HTTP_LOG},
	{"flow-log", required_argument, NULL, OPT_FLOW_LOG},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"replay-conns", required_argument, NULL, OPT_REPLAY_CONNS},
	{"replay-rate", required_argument, NULL, OPT_REPLAY_RATE},
	{"replay-percent", required_argument, NULL, OPT_REPLAY_PERCENT},
	{"replay-timeout", required_argument, NULL, OPT_REPLAY_TIMEOUT},
	{"replay-host", required_argument, NULL, OPT_REPLAY_HOST},
	{"replay-body-kb", required_argument, NULL, OPT_REPLAY_BODY_KB},
	{"replay-queue-mb", required_argument, NULL, OPT_REPLAY_QUEUE_MB},
	{"replay-drain", required_argument, NULL, OPT_REPLAY_DRAIN},
	{"write", required_argument, NULL, 'w'},
	{"count", required_argument, NULL, 'c'},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"timeout-new", required_argument, NULL, OPT_TMO_NEW},
	{"timeout-established", required_argument, NULL, OPT_TMO_EST},
	{"timeout-closed", required_argument, NULL, OPT_TMO_CLOSED},
	{"timeout-udp", required_argument, NULL, OPT_TMO_UDP},
	{"ooo-mb", required_argument, NULL, OPT_OOO_MB},
	{"ooo-flow-kb", required_argument, NULL, OPT_OOO_FLOW_KB},
	{"user", required_argument, NULL, OPT_USER},
	{"pin-cpus", no_argument, NULL, OPT_PIN},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

void rs_usage(FILE *fp)
{
	fputs(
"usage: ringsniff [options] [filter expression ...]\n"
"\n"
"Sources (one of):\n"
"  -i, --interface IF        live capture on IF (TPACKET_V3 ring per worker)\n"
"  -r, --read FILE           read a pcap or pcapng file ('-' = stdin)\n"
"      --watch DIR           follow capture files rotating in DIR (tcpdump -C/-W)\n"
"\n"
"Live capture:\n"
"  -T, --threads N           workers (default: online CPUs; 1 for files)\n"
"      --fanout MODE         hash (default), cpu, lb, qm, ebpf (5-tuple hash)\n"
"      --fanout-defrag, --fanout-rollover\n"
"      --ring-mb MB          ring size per worker (default 64)\n"
"      --block-kb KB         block size, power of two >= 64 (default 256)\n"
"      --block-timeout-ms MS retire a partly filled block after MS (default 10)\n"
"  -s, --snaplen N           keep at most N bytes of each frame\n"
"  -p, --no-promisc          do not put the interface in promiscuous mode\n"
"      --ignore-outgoing     skip packets this host sends\n"
"      --pin-cpus            pin worker i to CPU i (off: on a busy machine the\n"
"                            scheduler moving workers drops less)\n"
"\n"
"Filtering:\n"
"  -f, --filter EXPR         tcpdump filter expression (or trailing words)\n"
"  -d, --dump-filter         print the compiled BPF program (-dd, -ddd) and exit\n"
"      --ebpf-filter SPEC    eBPF socket filter, e.g. 'port=80,443;net=198.18.0.0/15';\n"
"                            @FILE reads SPEC from FILE, again at SIGHUP\n"
"\n"
"Outputs:\n"
"      --stats-interval S    console counters every S seconds (default 1; 0 = off)\n"
"      --summary-json PATH   every counter as one JSON object at exit\n"
"      --http-log PATH       one JSON line per HTTP transaction ('-' = stdout)\n"
"      --flow-log PATH       one JSON line per ended flow ('-' = stdout)\n"
"  -w PATH                   write the packets (after the filter) as pcap\n"
"  -C MB, -W N               rotate -w files like tcpdump (MB = 1,000,000 bytes)\n"
"\n", fp);
	fputs(rs_replay_usage, fp);
	fputs("\n"
"Limits:\n"
"  -c, --count N             stop after N packets\n"
"      --duration S          stop after S seconds\n"
"      --max-flows N         flow table cap (default 262144)\n"
"      --timeout-new S, --timeout-established S, --timeout-closed S,\n"
"      --timeout-udp S       idle timeouts per flow state\n"
"      --ooo-mb MB           global cap on buffered out-of-order bytes\n"
"      --ooo-flow-kb KB      per-flow cap on buffered out-of-order bytes\n"
"\n"
"      --user USER           after opening sockets and files, run as USER\n"
"                            with no capabilities left\n"
"  -v, --verbose             per-worker counters (repeat for more)\n"
"  -q, --quiet               no console counters\n"
"  -h, --help, --version\n"
"\n"
"Exit codes: 0 done, 1 runtime failure, 2 bad usage or bad input.\n", fp);
}

static int bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "ringsniff: invalid value '%s' for %s: %s\n", val, opt,
		why);
	return -EINVAL;
}

/* Strict unsigned parse: the whole string, in [lo, hi]. */
static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi,
		     uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return bad(opt, s, "expected a non-negative integer");
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return bad(opt, s, "expected a non-negative integer");
	if (v < lo || v > hi) {
		char why[96];
		snprintf(why, sizeof why, "must be between %llu and %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(opt, s, why);
	}
	*out = v;
	return 0;
}

static int parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi,
		      unsigned *out)
{
	uint64_t v;
	int rc = parse_u64(opt, s, lo, hi, &v);
	if (rc == 0)
		*out = (unsigned)v;
	return rc;
}

static int parse_secs(const char *opt, const char *s, double lo, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < lo || v > 1e9)
		return bad(opt, s, "expected a number of seconds");
	*out = v;
	return 0;
}

static int parse_secs_ns(const char *opt, const char *s, uint64_t *ns)
{
	double v;
	int rc = parse_secs(opt, s, 0.001, &v);
	if (rc == 0)
		*ns = (uint64_t)(v * 1e9);
	return rc;
}

static int parse_fanout(const char *s, int *mode)
{
	static const struct { const char *name; int mode; } modes[] = {
		{"hash", RS_FANOUT_HASH}, {"cpu", RS_FANOUT_CPU},
		{"lb", RS_FANOUT_LB}, {"qm", RS_FANOUT_QM},
		{"ebpf", RS_FANOUT_EBPF},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(s, modes[i].name) == 0) {
			*mode = modes[i].mode;
			return 0;
		}
	}
	return bad("--fanout", s, "expected hash, cpu, lb, qm or ebpf");
}

/* Join argv words into one expression, as tcpdump does. */
static char *join_words(int n, char **words)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, words[i]);
	}
	return s;
}

/* Parse argv into *o.  Returns 0, 1 when the program should exit 0 at once
 * (--help, --version), or -EINVAL after printing why. */
int rs_parse_opts(struct rs_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->fanout_mode = RS_FANOUT_HASH;
	o->promisc = true;
	o->stats_interval = 1.0;
	rs_flow_config_default(&o->flow);
	rs_replay_opts_default(&o->replay_opts);
	const char *fexpr = NULL;
	int c, rc = 0;
	uint64_t v;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:r:T:s:pf:dw:c:C:W:vqh",
				long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'r': o->read_path = optarg; break;
		case OPT_WATCH: o->watch_dir = optarg; break;
		case 'T': rc = parse_uint("--threads", optarg, 1, 1024, &o->threads); break;
		case OPT_FANOUT: rc = parse_fanout(optarg, &o->fanout_mode); break;
		case OPT_FANOUT_DEFRAG: o->fanout_defrag = true; break;
		case OPT_FANOUT_ROLLOVER: o->fanout_rollover = true; break;
		case OPT_RING_MB: rc = parse_uint("--ring-mb", optarg, 1, 65536, &o->ring_mb); break;
		case OPT_BLOCK_KB: rc = parse_uint("--block-kb", optarg, 4, 1u << 20, &o->block_kb); break;
		case OPT_BLOCK_TMO: rc = parse_uint("--block-timeout-ms", optarg, 1, 60000, &o->block_timeout_ms); break;
		case 's': rc = parse_uint("--snaplen", optarg, 0, RS_MAX_CAPLEN, &o->snaplen); break;
		case 'p': o->promisc = false; break;
		case OPT_IGNORE_OUTGOING: o->ignore_outgoing = true; break;
		case 'f': fexpr = optarg; break;
		case 'd': case OPT_DUMP_FILTER: o->dump_filter++; break;
		case OPT_EBPF_FILTER: o->ebpf_filter = optarg; break;
		case OPT_STATS_INTERVAL: rc = parse_secs("--stats-interval", optarg, 0, &o->stats_interval); break;
		case OPT_SUMMARY_JSON: o->summary_json = optarg; break;
		case OPT_HTTP_LOG: o->http_log = optarg; break;
		case OPT_FLOW_LOG: o->flow_log = optarg; break;
		case OPT_REPLAY: o->replay = optarg; break;
		case OPT_REPLAY_CONNS: case OPT_REPLAY_RATE: case OPT_REPLAY_PERCENT:
		case OPT_REPLAY_TIMEOUT: case OPT_REPLAY_HOST: case OPT_REPLAY_BODY_KB:
		case OPT_REPLAY_QUEUE_MB: case OPT_REPLAY_DRAIN:
			/* Same order as enum rs_replay_opt. */
			rc = rs_replay_opt_set(&o->replay_opts, c - OPT_REPLAY_CONNS, optarg);
			break;
		case 'w': o->write_path = optarg; break;
		case 'C': rc = parse_u64("-C", optarg, 1, 1u << 20, &o->rotate_mb); break;
		case 'W': rc = parse_uint("-W", optarg, 1, 1u << 20, &o->rotate_files); break;
		case 'c': rc = parse_u64("--count", optarg, 1, UINT64_MAX, &o->count); break;
		case OPT_DURATION: rc = parse_secs("--duration", optarg, 0.001, &o->duration); break;
		case OPT_MAX_FLOWS:
			rc = parse_u64("--max-flows", optarg, 1, 1ull << 32, &o->flow.max_flows);
			break;
		case OPT_TMO_NEW: rc = parse_secs_ns("--timeout-new", optarg, &o->flow.timeout_new_ns); break;
		case OPT_TMO_EST: rc = parse_secs_ns("--timeout-established", optarg, &o->flow.timeout_est_ns); break;
		case OPT_TMO_CLOSED: rc = parse_secs_ns("--timeout-closed", optarg, &o->flow.timeout_closed_ns); break;
		case OPT_TMO_UDP:
			rc = parse_secs_ns("--timeout-udp", optarg, &o->flow.timeout_udp_ns);
			o->flow.timeout_other_ns = o->flow.timeout_udp_ns;
			break;
		case OPT_OOO_MB:
			rc = parse_u64("--ooo-mb", optarg, 0, 1u << 20, &v);
			o->flow.ooo_bytes_max = v << 20;
			break;
		case OPT_OOO_FLOW_KB:
			rc = parse_u64("--ooo-flow-kb", optarg, 0, 1u << 20, &v);
			o->flow.ooo_bytes_per_flow = v << 10;
			break;
		case OPT_USER: o->user = optarg; break;
		case OPT_PIN: o->pin_cpus = true; break;
		case 'v': o->verbose++; break;
		case 'q': o->quiet = true; break;
		case 'h': rs_usage(stdout); return 1;
		case OPT_VERSION: printf("ringsniff 0.1.0\n"); return 1;
		case ':':
			fprintf(stderr, "ringsniff: option %s needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "ringsniff: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
		if (rc)
			return rc;
	}

	if (fexpr && optind < argc) {
		fprintf(stderr, "ringsniff: give the filter either with -f or as trailing words, not both\n");
		return -EINVAL;
	}
	if (fexpr)
		o->filter_expr = strdup(fexpr);
	else if (optind < argc)
		o->filter_expr = join_words(argc - optind, argv + optind);
	if ((fexpr || optind < argc) && !o->filter_expr)
		return -ENOMEM;

	int sources = !!o->iface + !!o->read_path + !!o->watch_dir;
	if (sources > 1) {
		fprintf(stderr, "ringsniff: choose one source: -i, -r or --watch\n");
		return -EINVAL;
	}
	if (sources == 0 && !o->dump_filter) {
		fprintf(stderr, "ringsniff: no source: give -i IF or -r FILE (see --help)\n");
		return -EINVAL;
	}
	if (o->ebpf_filter && !o->iface) {
		fprintf(stderr, "ringsniff: --ebpf-filter runs in the kernel: it needs -i\n");
		return -EINVAL;
	}
	if (o->fanout_mode == RS_FANOUT_EBPF && !o->iface) {
		fprintf(stderr, "ringsniff: --fanout needs -i\n");
		return -EINVAL;
	}
	o->replay_opts.target = o->replay;
	if (rs_replay_opts_check(&o->replay_opts) < 0)
		return -EINVAL;
	if ((o->rotate_mb || o->rotate_files) && !o->write_path) {
		fprintf(stderr, "ringsniff: -C and -W go with -w\n");
		return -EINVAL;
	}
	if (o->rotate_files && !o->rotate_mb) {
		fprintf(stderr, "ringsniff: -W needs -C (as in tcpdump)\n");
		return -EINVAL;
	}	if (o->http_log && o->flow_log && strcmp(o->http_log, "-") == 0 &&
	    strcmp(o->flow_log, "-") == 0) {
		fprintf(stderr, "ringsniff: --http-log and --flow-log cannot both be stdout\n");
		return -EINVAL;
	}
	return 0;
}

void rs_opts_free(struct rs_opts *o)
{
	free(o->filter_expr);
	o->filter_expr = NULL;
}
