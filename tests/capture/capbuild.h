/* capbuild.h - build pcap/pcapng bytes in either byte order for the tests. */
#ifndef CAPBUILD_H
#define CAPBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer; multi-byte values go in order `be` (big endian). */
struct cb {
	uint8_t *p;
	size_t len, cap;
	bool be;
};

void cb_init(struct cb *b, bool be);
void cb_free(struct cb *b);
void cb_u8(struct cb *b, uint8_t v);
void cb_u16(struct cb *b, uint16_t v);
void cb_u32(struct cb *b, uint32_t v);
void cb_u64(struct cb *b, uint64_t v);
void cb_bytes(struct cb *b, const void *p, size_t n);
/* n bytes of the pattern seed, seed+1, ... (see pattern_ok) */
void cb_fill(struct cb *b, size_t n, uint8_t seed);
void cb_pad4(struct cb *b);
void cb_patch32(struct cb *b, size_t at, uint32_t v);
bool pattern_ok(const uint8_t *p, uint32_t n, uint8_t seed);

/* classic pcap */
void cb_pcap_hdr(struct cb *b, uint32_t magic, uint16_t major, uint16_t minor,
		 uint32_t snaplen, uint32_t network);
/* Record with `ndata` pattern bytes after the header (normally caplen).
 * Returns the record's offset. */
size_t cb_pcap_rec(struct cb *b, uint32_t sec, uint32_t frac, uint32_t caplen,
		   uint32_t wirelen, size_t ndata, uint8_t seed);

/* pcapng: each returns the block's offset.  cb_ng_begin/cb_ng_end frame an
 * arbitrary block (end pads to 4 and writes both lengths). */
size_t cb_ng_begin(struct cb *b, uint32_t type);
void cb_ng_end(struct cb *b, size_t start);
size_t cb_ng_shb(struct cb *b, uint16_t major);
/* tsresol < 0: no if_tsresol option; tsoff != 0 adds if_tsoffset. */
size_t cb_ng_idb(struct cb *b, uint16_t linktype, uint32_t snaplen,
		 int tsresol, int64_t tsoff);
size_t cb_ng_epb(struct cb *b, uint32_t ifid, uint64_t ts, uint32_t caplen,
		 uint32_t wirelen, size_t ndata, uint8_t seed);
size_t cb_ng_opb(struct cb *b, uint16_t ifid, uint64_t ts, uint32_t caplen,
		 uint32_t wirelen, uint8_t seed);
size_t cb_ng_spb(struct cb *b, uint32_t wirelen, size_t ndata, uint8_t seed);
size_t cb_ng_other(struct cb *b, uint32_t type, size_t body_len, uint8_t seed);

/* Write the bytes to a fresh temp file; returns its malloc'd path. */
char *cb_write_tmp(const void *p, size_t len, const char *tag);
/* A fresh temp directory under TMPDIR (or /tmp); returns its malloc'd path. */
char *cb_tmpdir(const char *tag);
/* Remove the files in d, then d itself; frees d.  -1 if d could not be
 * opened (nothing removed). */
int cb_rmdir_all(char *d);
/* Append bytes to an existing file. */
void cb_append_file(const char *path, const void *p, size_t len);
void tmp_remove(char *path);

#endif /* CAPBUILD_H */
