/* filter.c - tcpdump expressions compiled to classic BPF with libpcap. */
#include "rs_bpf.h"
#include "bpf_impl.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/filter.h>
#include <pcap/pcap.h>

#define RS_DEFAULT_SNAPLEN 262144u

struct rs_filter {
	struct bpf_program prog;      /* libpcap's program, for bpf_filter() */
	struct sock_filter *kinsns;   /* owned copy in the kernel's layout */
	struct sock_fprog fprog;
	int linktype;
	uint32_t snaplen;
};

/* pcap_compile() is reentrant in libpcap >= 1.8, but older ones and
 * bpf_image()'s static buffer are not: compiling and dumping are rare, so
 * serialise them rather than depend on the libpcap version. */
static pthread_mutex_t pcap_lock = PTHREAD_MUTEX_INITIALIZER;

/* Build the filter from an opened pcap_t (dead or live); `p` stays open. */
static int compile_on(struct rs_filter **out, pcap_t *p, const char *expr,
		      int linktype, uint32_t snaplen, char *err, size_t errlen)
{
	struct rs_filter *f;
	int ret;

	f = calloc(1, sizeof(*f));
	if (!f) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->linktype = linktype;
	f->snaplen = snaplen;

	pthread_mutex_lock(&pcap_lock);
	ret = pcap_compile(p, &f->prog, expr ? expr : "", 1,
			   PCAP_NETMASK_UNKNOWN);
	if (ret < 0)
		set_err(err, errlen, "filter \"%s\": %s",
			expr ? expr : "", pcap_geterr(p));
	pthread_mutex_unlock(&pcap_lock);
	if (ret < 0) {
		ret = -EINVAL;
		goto fail_free;
	}
	/* struct sock_fprog counts instructions in an unsigned short. */
	if (f->prog.bf_len > USHRT_MAX) {
		set_err(err, errlen,
			"filter \"%s\": %u instructions, too long for the kernel",
			expr ? expr : "", f->prog.bf_len);
		ret = -E2BIG;
		goto fail_prog;
	}
	f->kinsns = calloc(f->prog.bf_len, sizeof(*f->kinsns));
	if (!f->kinsns) {
		set_err(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail_prog;
	}
	for (unsigned i = 0; i < f->prog.bf_len; i++) {
		const struct bpf_insn *in = &f->prog.bf_insns[i];

		f->kinsns[i] = (struct sock_filter){ .code = in->code,
			.jt = in->jt, .jf = in->jf, .k = in->k };
	}
	f->fprog.len = (unsigned short)f->prog.bf_len;
	f->fprog.filter = f->kinsns;
	*out = f;
	return 0;

fail_prog:
	pcap_freecode(&f->prog);
fail_free:
	free(f);
	return ret;
}

/* Capture files carry LINKTYPE_* values; pcap_open_dead() wants DLT_*.
 * They differ only for a few old types (libpcap's linktype_to_dlt() is not
 * exported); DLT_* values passed in are left alone. */
static int linktype_to_dlt(int linktype)
{
	switch (linktype) {
	case 100: return DLT_ATM_RFC1483;
	case 101: return DLT_RAW;
	case 102: return DLT_SLIP_BSDOS;
	case 103: return DLT_PPP_BSDOS;
	case 106: return DLT_ATM_CLIP;
	default:  return linktype;
	}
}

int rs_filter_compile(struct rs_filter **out, const char *expr, int linktype,
		      uint32_t snaplen, char *err, size_t errlen)
{
	pcap_t *p;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (snaplen == 0)
		snaplen = RS_DEFAULT_SNAPLEN;
	if (snaplen > INT_MAX) {
		set_err(err, errlen, "snapshot length %u out of range",
			snaplen);
		return -EINVAL;
	}
	p = pcap_open_dead(linktype_to_dlt(linktype), (int)snaplen);
	if (!p) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = compile_on(out, p, expr, linktype, snaplen, err, errlen);
	pcap_close(p);
	return ret;
}

int rs_filter_compile_live(struct rs_filter **out, const char *expr,
			   const char *ifname, uint32_t snaplen, char *err,
			   size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;
	int ret;

	if (!out || !ifname)
		return -EINVAL;
	*out = NULL;
	if (snaplen == 0)
		snaplen = RS_DEFAULT_SNAPLEN;
	if (snaplen > INT_MAX) {
		set_err(err, errlen, "snapshot length %u out of range",
			snaplen);
		return -EINVAL;
	}
	p = pcap_create(ifname, perr);
	if (!p) {
		set_err(err, errlen, "%s: %s", ifname, perr);
		return -ENODEV;
	}
	pcap_set_snaplen(p, (int)snaplen);
	ret = pcap_activate(p);
	if (ret < 0) {
		set_err(err, errlen, "%s: %s", ifname, pcap_geterr(p));
		ret = ret == PCAP_ERROR_PERM_DENIED ? -EPERM :
		      ret == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV :
		      ret == PCAP_ERROR_IFACE_NOT_UP ? -ENETDOWN : -EIO;
		goto out;
	}
	/* Cooked captures put a pseudo-header where SOCK_RAW has the MAC
	 * header; libpcap fixes the program up for its SOCK_DGRAM socket. */
	if (pcap_datalink(p) == DLT_LINUX_SLL ||
	    pcap_datalink(p) == DLT_LINUX_SLL2) {
		set_err(err, errlen, "%s: cooked link type %s: not supported "
			"for kernel filters on raw sockets", ifname,
			pcap_datalink_val_to_name(pcap_datalink(p)));
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = compile_on(out, p, expr, pcap_datalink(p), snaplen, err, errlen);
out:
	pcap_close(p);
	return ret;
}

bool rs_filter_match(const struct rs_filter *f, const uint8_t *data,
		     uint32_t caplen, uint32_t wirelen)
{
	/* bpf_filter() rejects any load beyond buflen, so only
	 * data[0..caplen) is read. */
	return bpf_filter(f->prog.bf_insns, data, wirelen, caplen) != 0;
}

const struct sock_fprog *rs_filter_fprog(const struct rs_filter *f)
{
	return &f->fprog;
}

int rs_filter_linktype(const struct rs_filter *f)
{
	return f->linktype;
}

unsigned rs_filter_len(const struct rs_filter *f)
{
	return f->prog.bf_len;
}

void rs_filter_dump(const struct rs_filter *f, int level, void *stdio_file)
{
	FILE *fp = stdio_file ? stdio_file : stdout;
	const struct bpf_insn *in = f->prog.bf_insns;
	unsigned n = f->prog.bf_len;

	/* Same formats as libpcap's bpf_dump(), which only writes stdout. */
	if (level > 2) {
		fprintf(fp, "%u\n", n);
		for (unsigned i = 0; i < n; i++)
			fprintf(fp, "%u %u %u %u\n", in[i].code, in[i].jt,
				in[i].jf, in[i].k);
		return;
	}
	if (level > 1) {
		for (unsigned i = 0; i < n; i++)
			fprintf(fp, "{ 0x%x, %d, %d, 0x%08x },\n", in[i].code,
				in[i].jt, in[i].jf, in[i].k);
		return;
	}
	pthread_mutex_lock(&pcap_lock);
	for (unsigned i = 0; i < n; i++)
		fprintf(fp, "%s\n", bpf_image(&in[i], (int)i));
	pthread_mutex_unlock(&pcap_lock);
}

void rs_filter_free(struct rs_filter *f)
{
	if (!f)
		return;
	free(f->kinsns);
	pcap_freecode(&f->prog);
	free(f);
}
