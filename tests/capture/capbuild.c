/* capbuild.c - build pcap/pcapng bytes in either byte order for the tests. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capbuild.h"

static void die(const char *what)
{
	perror(what);
	abort();
}

void cb_init(struct cb *b, bool be)
{
	*b = (struct cb){ .be = be };
}

void cb_free(struct cb *b)
{
	free(b->p);
	*b = (struct cb){ 0 };
}

void cb_bytes(struct cb *b, const void *p, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *np;

	while (cap - b->len < n)
		cap *= 2;
	if (cap != b->cap) {
		np = realloc(b->p, cap);
		if (!np)
			die("realloc");
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Store v in n bytes in the buffer's byte order. */
static void put(uint8_t *out, uint64_t v, unsigned n, bool be)
{
	unsigned i;

	for (i = 0; i < n; i++)
		out[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static void cb_int(struct cb *b, uint64_t v, unsigned n)
{
	uint8_t tmp[8];

	put(tmp, v, n, b->be);
	cb_bytes(b, tmp, n);
}

void cb_u8(struct cb *b, uint8_t v) { cb_bytes(b, &v, 1); }
void cb_u16(struct cb *b, uint16_t v) { cb_int(b, v, 2); }
void cb_u32(struct cb *b, uint32_t v) { cb_int(b, v, 4); }
void cb_u64(struct cb *b, uint64_t v) { cb_int(b, v, 8); }

void cb_fill(struct cb *b, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		cb_u8(b, (uint8_t)(seed + i));
}

bool pattern_ok(const uint8_t *p, uint32_t n, uint8_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i))
			return false;
	return true;
}

void cb_pad4(struct cb *b)
{
	while (b->len % 4)
		cb_u8(b, 0);
}

void cb_patch32(struct cb *b, size_t at, uint32_t v)
{
	put(b->p + at, v, 4, b->be);
}

void cb_pcap_hdr(struct cb *b, uint32_t magic, uint16_t major, uint16_t minor,
		 uint32_t snaplen, uint32_t network)
{
	cb_u32(b, magic);
	cb_u16(b, major);
	cb_u16(b, minor);
	cb_u32(b, 0);           /* thiszone */
	cb_u32(b, 0);           /* sigfigs */
	cb_u32(b, snaplen);
	cb_u32(b, network);
}

size_t cb_pcap_rec(struct cb *b, uint32_t sec, uint32_t frac, uint32_t caplen,
		   uint32_t wirelen, size_t ndata, uint8_t seed)
{
	size_t at = b->len;

	cb_u32(b, sec);
	cb_u32(b, frac);
	cb_u32(b, caplen);
	cb_u32(b, wirelen);
	cb_fill(b, ndata, seed);
	return at;
}

size_t cb_ng_begin(struct cb *b, uint32_t type)
{
	size_t at = b->len;

	cb_u32(b, type);
	cb_u32(b, 0);
	return at;
}

void cb_ng_end(struct cb *b, size_t start)
{
	uint32_t total;

	cb_pad4(b);
	total = (uint32_t)(b->len + 4 - start);
	cb_u32(b, total);
	cb_patch32(b, start + 4, total);
}

size_t cb_ng_shb(struct cb *b, uint16_t major)
{
	size_t at = cb_ng_begin(b, 0x0a0d0d0a);

	cb_u32(b, 0x1a2b3c4d);
	cb_u16(b, major);
	cb_u16(b, 0);
	cb_u64(b, UINT64_MAX);  /* section length unknown */
	cb_ng_end(b, at);
	return at;
}

size_t cb_ng_idb(struct cb *b, uint16_t linktype, uint32_t snaplen,
		 int tsresol, int64_t tsoff)
{
	size_t at = cb_ng_begin(b, 1);

	cb_u16(b, linktype);
	cb_u16(b, 0);
	cb_u32(b, snaplen);
	cb_u16(b, 2);           /* if_name, to be skipped */
	cb_u16(b, 3);
	cb_bytes(b, "et0", 3);
	cb_pad4(b);
	if (tsresol >= 0) {
		cb_u16(b, 9);
		cb_u16(b, 1);
		cb_u8(b, (uint8_t)tsresol);
		cb_pad4(b);
	}
	if (tsoff) {
		cb_u16(b, 14);
		cb_u16(b, 8);
		cb_u64(b, (uint64_t)tsoff);
	}
	cb_u16(b, 0);           /* opt_endofopt */
	cb_u16(b, 0);
	cb_ng_end(b, at);
	return at;
}

size_t cb_ng_epb(struct cb *b, uint32_t ifid, uint64_t ts, uint32_t caplen,
		 uint32_t wirelen, size_t ndata, uint8_t seed)
{
	size_t at = cb_ng_begin(b, 6);

	cb_u32(b, ifid);
	cb_u32(b, (uint32_t)(ts >> 32));
	cb_u32(b, (uint32_t)ts);
	cb_u32(b, caplen);
	cb_u32(b, wirelen);
	cb_fill(b, ndata, seed);
	cb_pad4(b);
	cb_u16(b, 1);           /* opt_comment, to be ignored */
	cb_u16(b, 2);
	cb_bytes(b, "hi", 2);
	cb_pad4(b);
	cb_u16(b, 0);
	cb_u16(b, 0);
	cb_ng_end(b, at);
	return at;
}

size_t cb_ng_opb(struct cb *b, uint16_t ifid, uint64_t ts, uint32_t caplen,
		 uint32_t wirelen, uint8_t seed)
{
	size_t at = cb_ng_begin(b, 2);

	cb_u16(b, ifid);
	cb_u16(b, 0);           /* drops */
	cb_u32(b, (uint32_t)(ts >> 32));
	cb_u32(b, (uint32_t)ts);
	cb_u32(b, caplen);
	cb_u32(b, wirelen);
	cb_fill(b, caplen, seed);
	cb_ng_end(b, at);
	return at;
}

size_t cb_ng_spb(struct cb *b, uint32_t wirelen, size_t ndata, uint8_t seed)
{
	size_t at = cb_ng_begin(b, 3);

	cb_u32(b, wirelen);
	cb_fill(b, ndata, seed);
	cb_ng_end(b, at);
	return at;
}

size_t cb_ng_other(struct cb *b, uint32_t type, size_t body_len, uint8_t seed)
{
	size_t at = cb_ng_begin(b, type);

	cb_fill(b, body_len, seed);
	cb_ng_end(b, at);
	return at;
}

char *cb_write_tmp(const void *p, size_t len, const char *tag)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&path, "%s/rs-cap-%s-XXXXXX", dir, tag) < 0)
		die("asprintf");
	fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	if (len && write(fd, p, len) != (ssize_t)len)
		die("write");
	close(fd);
	return path;
}

char *cb_tmpdir(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	char *path;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&path, "%s/rs-cap-%s-XXXXXX", dir, tag) < 0)
		die("asprintf");
	if (!mkdtemp(path))
		die("mkdtemp");
	return path;
}

int cb_rmdir_all(char *d)
{
	DIR *dir = opendir(d);
	struct dirent *de;
	char p[512];
	int rc = dir ? 0 : -1;

	if (dir) {
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
			unlink(p);
		}
		closedir(dir);
		rmdir(d);
	}
	free(d);
	return rc;
}

void cb_append_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0 || write(fd, p, len) != (ssize_t)len)
		die("append");
	close(fd);
}

void tmp_remove(char *path)
{
	if (path)
		unlink(path);
	free(path);
}
