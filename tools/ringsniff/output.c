/* output.c - JSON-lines logs (HTTP transactions, flows) with exact escaping. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ringsniff.h"

int rs_sink_open(struct rs_sink *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (!path)
		return 0;
	s->path = path;
	if (strcmp(path, "-") == 0) {
		s->fd = STDOUT_FILENO;
		s->is_stdout = true;
		return 0;
	}
	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		int e = errno;
		fprintf(stderr, "ringsniff: cannot open %s: %s\n", path, strerror(e));
		return -e;
	}
	return 0;
}

int rs_sink_reopen(struct rs_sink *s)
{
	if (s->fd < 0 || s->is_stdout)
		return 0;
	int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ringsniff: cannot reopen %s: %s (still writing the old file)\n",
			s->path, strerror(e));
		return -e;
	}
	pthread_mutex_lock(&s->lock);
	/* dup2 swaps the file under the same descriptor number atomically. */
	int rc = dup2(fd, s->fd) < 0 ? -errno : 0;
	pthread_mutex_unlock(&s->lock);
	close(fd);
	return rc;
}

int rs_sink_chown(struct rs_sink *s, uid_t uid, gid_t gid)
{
	if (s->fd < 0 || s->is_stdout)
		return 0;
	return fchown(s->fd, uid, gid) < 0 ? -errno : 0;
}

void rs_sink_close(struct rs_sink *s)
{
	if (s->fd >= 0 && !s->is_stdout && close(s->fd) != 0 && !s->error)
		s->error = errno;
	if (s->error)
		fprintf(stderr, "ringsniff: writing %s failed: %s\n", s->path,
			strerror(s->error));
	s->fd = -1;
	pthread_mutex_destroy(&s->lock);
}

/* A line is built in place at the buffer's end; it is at most this long
 * (bounded fields, each byte escaped to at most 6), so flush before it. */
#define RS_MAX_LINE (6 * (RS_HTTP_URI_MAX + RS_HTTP_HOST_MAX + RS_HTTP_UA_MAX + \
			  RS_HTTP_METHOD_MAX + RS_HTTP_VERSION_MAX) + 1024)
_Static_assert(RS_MAX_LINE < RS_OUTBUF_SIZE, "line must fit the buffer");

int rs_outbuf_init(struct rs_outbuf *b, struct rs_sink *s)
{
	memset(b, 0, sizeof *b);
	if (s->fd < 0)
		return 0;
	b->buf = malloc(RS_OUTBUF_SIZE);
	if (!b->buf)
		return -ENOMEM;
	b->sink = s;
	/* stdout flushes each line: those take the general way. */
	b->fast_below = s->is_stdout ? 0 : RS_OUTBUF_SIZE - RS_MAX_LINE + 1;
	return 0;
}

/* Hand the buffer's whole lines to the sink with write(2), looping over
 * short writes: one lock per buffer, and no stdio buffer that could split a
 * line when another thread (or the console line on stderr) writes between. */
void rs_outbuf_flush(struct rs_outbuf *b)
{
	if (!b->sink || b->len == 0)
		return;
	struct rs_sink *s = b->sink;
	pthread_mutex_lock(&s->lock);
	for (size_t off = 0; off < b->len && !s->error;) {
		ssize_t n = write(s->fd, b->buf + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			s->error = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	/* Counted here, once per buffer: a locked add per line cost more
	 * than the rest of line_end. */
	s->lines += b->lines;
	pthread_mutex_unlock(&s->lock);
	b->len = 0;
	b->lines = 0;
}

void rs_outbuf_fini(struct rs_outbuf *b)
{
	rs_outbuf_flush(b);
	free(b->buf);
	b->buf = NULL;
	b->sink = NULL;
	b->fast_below = 0;
}

/* Two ways to write.  The bounded start of a line (keys, numbers,
 * addresses, the HTTP strings) goes through a bare char * with no room check
 * per piece: line_begin leaves RS_MAX_LINE bytes and the static asserts below
 * show that part fits.  What comes from elsewhere with no fixed bound (flag
 * and state names) goes through put(), which clips at the buffer's end. */
struct line {
	char *p, *end;
};

__attribute__((noinline, cold))
static void put_clip(struct line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n)
		n = (size_t)(l->end - l->p);
	memcpy(l->p, s, n);
	l->p += n;
}

/* In line: a literal's copy is then a few moves, not a call. */
static inline void put(struct line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n) {
		put_clip(l, s, n);
		return;
	}
	memcpy(l->p, s, n);
	l->p += n;
}

/* String literals, their length known at compile time. */
#define PUTL(l, lit) put((l), (lit), sizeof(lit) - 1)
/* The same, unchecked: a constant-size memcpy is a few moves. */
#define CPYL(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)
/* The same for a literal of at most 16 bytes, stored as 16 (padded with
 * NULs that what follows overwrites): one 16-byte move, where 9 to 15
 * bytes took two or three moves of immediates. */
#define CPY16(p, lit) (memcpy((p), lit "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), \
		       (void)sizeof(char[sizeof(lit) <= 17 ? 1 : -1]), (p) + sizeof(lit) - 1)

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static const char digits2[200] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static unsigned ndigits(uint64_t v)
{
	unsigned n = 1;
	for (;;) {
		if (v < 10) return n;
		if (v < 100) return n + 1;
		if (v < 1000) return n + 2;
		if (v < 10000) return n + 3;
		v /= 10000;
		n += 4;
	}
}

/* Decimal by hand, two digits per division, written back to front once the
 * length is known: a line holds a dozen numbers (printf cost more than the
 * rest of the line).  Most are small (ports, status, lengths), and those
 * take a short way in 32 bits.  At most 20 bytes.  With short_only, a v
 * from 10000 on is not written: NULL. */
static inline __attribute__((always_inline))
char *fmt_num(char *p, uint64_t v, bool short_only)
{
	if (v < 100) {
		if (v < 10) {
			*p = (char)('0' + v);
			return p + 1;
		}
		memcpy(p, digits2 + 2 * v, 2);
		return p + 2;
	}
	if (v < 10000) {
		unsigned hi = (unsigned)v / 100, lo = (unsigned)v % 100;
		if (hi < 10)
			*p++ = (char)('0' + hi);
		else {
			memcpy(p, digits2 + 2 * hi, 2);
			p += 2;
		}
		memcpy(p, digits2 + 2 * lo, 2);
		return p + 2;
	}
	if (short_only)
		return NULL;
	char *e = p + ndigits(v), *q = e;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		q -= 2;
		memcpy(q, digits2 + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(q - 2, digits2 + 2 * v, 2);
	else
		q[-1] = (char)('0' + v);
	return e;
}

static inline __attribute__((always_inline))
char *fmt_u64(char *p, uint64_t v)
{
	return fmt_num(p, v, false);
}

static void put_u64(struct line *l, uint64_t v)
{
	char b[20];
	put(l, b, (size_t)(fmt_u64(b, v) - b));
}

/* "000 " to "999 ": three digits by one load (the fourth byte is
 * overwritten by what follows). */
#define D3_(a, b, c) #a #b #c " "
#define D3C(a, b) D3_(a, b, 0) D3_(a, b, 1) D3_(a, b, 2) D3_(a, b, 3) D3_(a, b, 4) \
	D3_(a, b, 5) D3_(a, b, 6) D3_(a, b, 7) D3_(a, b, 8) D3_(a, b, 9)
#define D3B(a) D3C(a, 0) D3C(a, 1) D3C(a, 2) D3C(a, 3) D3C(a, 4) D3C(a, 5) \
	D3C(a, 6) D3C(a, 7) D3C(a, 8) D3C(a, 9)
static const char digits3[4001] = D3B(0) D3B(1) D3B(2) D3B(3) D3B(4) D3B(5)
	D3B(6) D3B(7) D3B(8) D3B(9);

/* Seconds with six decimals (microseconds).  At most 27 bytes.  Lines
 * come in time order, so the seconds are nearly always those of the line
 * before: keep their text and where they start in ns (per thread, workers
 * never share it).  Within them the microseconds come from the
 * nanoseconds past that start, with no 64-bit division by 1e9. */
static _Thread_local struct {
	uint64_t base_ns;           /* the seconds' start, sec * 1e9 */
	uint64_t span;              /* ns - base_ns up to this is in them */
	size_t len;                 /* of txt: digits and '.' */
	char txt[16];               /* at most 11 digits, then '.' */
} ts_last = {0, 999999999, 2, "0."};

__attribute__((noinline))
static void ts_new_sec(uint64_t ns)
{
	uint64_t sec = ns / 1000000000u;
	char *e = fmt_u64(ts_last.txt, sec);
	*e = '.';
	ts_last.len = (size_t)(e + 1 - ts_last.txt);
	ts_last.base_ns = sec * 1000000000u;
	/* The last second of the range is cut short: ns - base_ns must not
	 * wrap around to small values of ns. */
	ts_last.span = UINT64_MAX - ts_last.base_ns < 999999999u ?
		       UINT64_MAX - ts_last.base_ns : 999999999u;
}

/* The time d ns into the second of ts_last (d < 1e9). */
static inline __attribute__((always_inline))
char *fmt_ts_in(char *p, uint64_t d)
{
	unsigned us = (unsigned)d / 1000u;
	memcpy(p, ts_last.txt, sizeof ts_last.txt);
	p += ts_last.len;
	memcpy(p, digits3 + 4 * (size_t)(us / 1000), 4);
	memcpy(p + 3, digits3 + 4 * (size_t)(us % 1000), 4);
	return p + 6;
}

static inline __attribute__((always_inline))
char *fmt_ts(char *p, uint64_t ns)
{
	if (ns - ts_last.base_ns > ts_last.span)
		ts_new_sec(ns);
	return fmt_ts_in(p, ns - ts_last.base_ns);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Where put_special left off, returned in two registers rather than through
 * a pointer that would keep the caller's index in memory. */
struct jpos {
	char *p;
	size_t i;
};

/* The bytes at s[i] that are not plain ASCII: a valid UTF-8 sequence is
 * copied, anything else escaped.  At most 6 bytes out per byte in.  Kept
 * out of line: inlined, it made every string pay for its registers. */
__attribute__((noinline, cold))
static struct jpos put_special(char *p, const uint8_t *s, size_t n, size_t i)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t c = s[i];
	size_t k = c >= 0x20 && c != '"' && c != '\\' ? utf8_len(s + i, n - i) : 0;
	if (k) {
		memcpy(p, s + i, k);
		return (struct jpos){p + k, i + k};
	}
	switch (c) {
	case '"': p = CPYL(p, "\\\""); break;
	case '\\': p = CPYL(p, "\\\\"); break;
	case '\n': p = CPYL(p, "\\n"); break;
	case '\r': p = CPYL(p, "\\r"); break;
	case '\t': p = CPYL(p, "\\t"); break;
	default:
		p = CPYL(p, "\\u00");
		p[0] = hex[c >> 4];
		p[1] = hex[c & 15];
		p += 2;
	}
	return (struct jpos){p, i + 1};
}

/* The inside of a JSON string from arbitrary bytes: valid UTF-8 passes
 * through, control characters and every byte that is not valid UTF-8 become
 * \u00XX (the byte read as Latin-1), so the line is valid JSON whatever the
 * capture held.  Nearly every byte of real HTTP is printable ASCII, so a
 * whole block of bytes is checked and stored at once, and only a flagged
 * byte takes the slow way, its output then overwriting from its position.
 *
 * Two ways in.  put_jstr_arr is the common one: s is a whole array of
 * 16-byte blocks, every byte initialised (JSTR below), so it loads whole
 * blocks and masks the bytes past n off the check, with no short-tail
 * cases.  At the first byte that needs care it hands over to put_jstr_rest,
 * which reads only s[0..n) and takes any start.  Both write at most
 * 6 * n + 16 bytes from p (a store may reach past the returned end). */
#if defined(__SSE2__) && !defined(RS_OUTPUT_NO_SSE2)
/* Sixteen bytes in an SSE2 register, through GCC/clang vector extensions
 * rather than <emmintrin.h>, whose inline functions profilers charge to
 * that header instead of to this file. */
typedef signed char v16 __attribute__((vector_size(16)));
typedef char v16c __attribute__((vector_size(16)));   /* what the builtin takes */
typedef uint64_t v2u64 __attribute__((vector_size(16)));
#define V16(c) ((v16){c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c})

/* Byte j's top bit set: byte j of the sixteen needs care (special16 gives
 * them as bit j).  Read as signed, bytes from
 * 0x80 are negative like the controls; xor 2 moves '"' to 0x20 (and space
 * away from it), so a saturating v ^ 2 - 0x21 is negative, its top bit
 * set, for exactly the controls, '"' and bytes from 0x80: one subtract
 * where a compare was three instructions with the one for '"'. */
static v16 care16(v16 v)
{
#if defined(__clang__)
	v16 lt = __builtin_elementwise_sub_sat(v ^ V16(0x02), V16(0x21));
#else
	v16 lt = (v16)__builtin_ia32_psubsb128((v16c)(v ^ V16(0x02)), (v16c)V16(0x21));
#endif
	return lt | (v16)(v == V16('\\'));
}

static unsigned mask16(v16 m)
{
	return (unsigned)__builtin_ia32_pmovmskb128((v16c)m);
}

static unsigned special16(v16 v)
{
	return mask16(care16(v));
}

static v16 load16(const uint8_t *s)
{
	v16 v;
	memcpy(&v, s, 16);
	return v;
}

static void store16(char *p, v16 v)
{
	memcpy(p, &v, 16);
}

/* From s[i] on, p being where it goes.  Kept out of line: no byte of a
 * usual line needs care. */
__attribute__((noinline, cold))
static char *put_jstr_rest(char *p, const uint8_t *s, size_t n, size_t i)
{
	bool mirrored = false;          /* the 16 bytes before p are s[i-16..i) */
	for (;;) {
		size_t r = n - i, k;
		unsigned m;
		if (r >= 16) {
			v16 x = load16(s + i);
			m = special16(x);
			store16(p, x);
			if (!m) {
				p += 16;
				i += 16;
				mirrored = true;
				continue;
			}
			k = (unsigned)__builtin_ctz(m);
		} else if (r == 0) {
			return p;
		} else if (mirrored) {
			/* The last 16 source bytes, stored so that they end where
			 * s[n-1] goes: the part before p rewrites what is there. */
			size_t back = 16 - r;
			v16 x = load16(s + n - 16);
			m = special16(x) >> back;
			store16(p - back, x);
			if (!m)
				return p + r;
			k = (unsigned)__builtin_ctz(m);
		} else if (r >= 8) {
			/* 8..15 bytes: the first 8 and the last 8, overlapping.
			 * The halves meet in a register, not on the stack, where
			 * two 8-byte stores read back as 16 cannot be forwarded
			 * (a stall on each of the line's short strings). */
			uint64_t lo, hi;
			memcpy(&lo, s + i, 8);
			memcpy(&hi, s + n - 8, 8);
			m = special16((v16)(v2u64){lo, hi});
			memcpy(p, &lo, 8);
			memcpy(p + r - 8, &hi, 8);
			if (!m)
				return p + r;
			k = m & 0xff ? (unsigned)__builtin_ctz(m)
				     : r - 8 + (unsigned)__builtin_ctz(m >> 8);
		} else if (r >= 4) {
			/* 4..7 bytes: the same with 4 (the zeros above are masked). */
			uint32_t lo, hi;
			memcpy(&lo, s + i, 4);
			memcpy(&hi, s + n - 4, 4);
			m = special16((v16)(v2u64){lo | (uint64_t)hi << 32, 0}) & 0xff;
			memcpy(p, &lo, 4);
			memcpy(p + r - 4, &hi, 4);
			if (!m)
				return p + r;
			k = m & 0xf ? (unsigned)__builtin_ctz(m)
				    : r - 4 + (unsigned)__builtin_ctz(m >> 4);
		} else {
			for (k = 0; k < r; k++) {
				uint8_t c = s[i + k];
				if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
					break;
				p[k] = (char)c;
			}
			if (k == r)
				return p + r;
		}
		struct jpos j = put_special(p + k, s, n, i + k);
		p = j.p;
		i = j.i;
		mirrored = false;
	}
}

/* The low r bits set, by table: one and with a load, where the shift
 * took five instructions per string. */
static const uint32_t low_bits[17] = {
	0x0000, 0x0001, 0x0003, 0x0007, 0x000f, 0x001f, 0x003f, 0x007f, 0x00ff,
	0x01ff, 0x03ff, 0x07ff, 0x0fff, 0x1fff, 0x3fff, 0x7fff, 0xffff,
};

/* n is clamped to cap, the array's size, only when it is over 16: a
 * shorter one (most are) is within any array of whole blocks. */
static inline __attribute__((always_inline))
char *put_jstr_arr(char *p, const uint8_t *s, size_t n, size_t cap)
{
	size_t i = 0;
	unsigned m;
	if (n > 16) {
		n = n < cap ? n : cap;
		do {
			v16 x = load16(s + i);
			m = special16(x);
			store16(p + i, x);
			if (m)
				goto care;
			i += 16;
		} while (n - i > 16);
	}
	/* The last block (or n == 0). */
	v16 x = load16(s + i);
	m = special16(x) & low_bits[n - i];
	store16(p + i, x);
	if (!m)
		return p + n;
care:;
	size_t k = i + (unsigned)__builtin_ctz(m);
	return put_jstr_rest(p + k, s, n, k);
}

/* The fast way's string: s[0..n) stored as is and p + n returned, or NULL
 * if a byte needs care (the line then takes the general way).  n and cap
 * as for put_jstr_arr.  Past 16 bytes the blocks' flags are gathered in a
 * register and tested once, and the last block is the 16 bytes that end
 * at n (overlapping the one before): no mask. */
static inline __attribute__((always_inline))
char *jstr_plain(char *p, const uint8_t *s, size_t n, size_t cap)
{
	/* Most are short: that way falls through, the loop is out of line. */
	if (__builtin_expect(n <= 16, 1)) {
		v16 x = load16(s);
		store16(p, x);
		return special16(x) & low_bits[n] ? NULL : p + n;
	}
	n = n < cap ? n : cap;
	v16 acc = V16(0);
	size_t i = 0;
	do {
		v16 x = load16(s + i);
		store16(p + i, x);
		acc |= care16(x);
		i += 16;
	} while (i < n - 16);
	v16 x = load16(s + n - 16);
	store16(p + n - 16, x);
	acc |= care16(x);
	return mask16(acc) ? NULL : p + n;
}
#else
/* Without SSE2: eight bytes at a time in a 64-bit word. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH (0x80 * ONES)

/* The high bit of each byte of v that needs care: below 0x20, '"', '\\'
 * or 0x80 and above.  Exact per byte (no sum below carries out of its
 * byte), so the lowest set bit marks the first such byte on either
 * byte order once the word is read little-endian. */
static uint64_t special8(uint64_t v)
{
	uint64_t lo = v & ~HIGH;
	/* xor 2 moves '"' to 0x20 (and space away from it), so one add
	 * finds both it and the controls, as in special16. */
	uint64_t ctq = (lo ^ 0x02 * ONES) + 0x5f * ONES; /* high bit: >= 0x20, != '"' */
	uint64_t bsl = (lo ^ 0x5c * ONES) + 0x7f * ONES; /* high bit: != '\\' */
	return (v | ~(ctq & bsl)) & HIGH;
}

static uint64_t load8le(const uint8_t *s)
{
	uint64_t v;
	memcpy(&v, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

__attribute__((noinline, cold))
static char *put_jstr_rest(char *p, const uint8_t *s, size_t n, size_t i)
{
	while (i < n) {
		size_t k = 0;
		if (n - i >= 8) {
			memcpy(p, s + i, 8);
			uint64_t m = special8(load8le(s + i));
			if (!m) {
				p += 8;
				i += 8;
				continue;
			}
			k = (unsigned)__builtin_ctzll(m) / 8;
		} else {
			for (; k < n - i; k++) {
				uint8_t c = s[i + k];
				if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
					break;
				p[k] = (char)c;
			}
			if (k == n - i)
				return p + k;
		}
		struct jpos j = put_special(p + k, s, n, i + k);
		p = j.p;
		i = j.i;
	}
	return p;
}

static inline __attribute__((always_inline))
char *put_jstr_arr(char *p, const uint8_t *s, size_t n, size_t cap)
{
	n = n < cap ? n : cap;
	for (size_t i = 0;; i += 8) {
		memcpy(p + i, s + i, 8);
		uint64_t m = special8(load8le(s + i));
		size_t r = n - i;
		if (r <= 8) {           /* the last word (or n == 0) */
			if (r < 8)
				m &= (UINT64_C(1) << 8 * r) - 1;
			if (!m)
				return p + n;
		}
		if (m) {
			size_t k = i + (unsigned)__builtin_ctzll(m) / 8;
			return put_jstr_rest(p + k, s, n, k);
		}
	}
}

static inline __attribute__((always_inline))
char *jstr_plain(char *p, const uint8_t *s, size_t n, size_t cap)
{
	n = n < cap ? n : cap;
	uint64_t m = 0;
	for (size_t i = 0; i < n; i += 8) {
		memcpy(p + i, s + i, 8);
		uint64_t w = special8(load8le(s + i));
		if (n - i < 8)
			w &= (UINT64_C(1) << 8 * (n - i)) - 1;
		m |= w;
	}
	return m ? NULL : p + n;
}
#endif

/* put_jstr_arr clamps each length to its array (the layer keeps them
 * within; this keeps the bounds true even if it did not), and reads the
 * string fields' arrays in whole 16-byte blocks up
 * to the one holding the end.  Bytes past the length are initialised too,
 * as struct rs_http_txn promises (rs_reassembly.h). */
#define JSTR(p, t, fld, len) \
	put_jstr_arr((p), (const uint8_t *)(t)->fld, (len), sizeof (t)->fld)
#define TXN_ARR16(fld) _Static_assert(sizeof ((struct rs_http_txn *)0)->fld % 16 == 0 && \
				      sizeof ((struct rs_http_txn *)0)->fld >= 16, \
				      #fld " must be whole 16-byte blocks")
TXN_ARR16(method);
TXN_ARR16(uri);
TXN_ARR16(host);
TXN_ARR16(user_agent);
TXN_ARR16(version);

/* Dotted quad. At most 15 bytes. */
static char *fmt_ipv4(char *p, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100) {
			*p++ = (char)('0' + v / 100);
			v %= 100;
			memcpy(p, digits2 + 2 * v, 2);
			p += 2;
		} else if (v >= 10) {
			memcpy(p, digits2 + 2 * v, 2);
			p += 2;
		} else {
			*p++ = (char)('0' + v);
		}
		*p++ = '.';
	}
	return p - 1;
}

static char *fmt_addr(char *p, const uint8_t *a, uint8_t alen)
{
	if (alen == 4)
		return fmt_ipv4(p, a);
	char buf[64];
	size_t n = strlen(rs_addr_str(a, alen, buf, sizeof buf));
	memcpy(p, buf, n);
	return p + n;
}

/* ,"src_ip":"..","src_port":..,"dst_ip":"..","dst_port":.. (the client is
 * src), rendered once per connection: a keep-alive connection logs many
 * lines with the same endpoints, and a busy worker interleaves lines of many
 * connections, hence a small direct-mapped table rather than one entry.
 * Keyed on the endpoint values themselves (not the flow's address, which a
 * later flow may reuse); per thread, so workers never share it. */
#define EP_TXT_MAX 154  /* 4 keys (48) + 2 addresses (45 each) + 2 ports (5 each) */
/* The key: rs_flow_info's first 40 bytes, proto, addr_len, vlan, cli_addr,
 * srv_addr, cli_port, srv_port, with no padding between, so that three
 * 16-byte compares (bytes 0-15, 16-31 and 24-39, the last two overlapping)
 * check them all.  proto and vlan are in it only because they lie there. */
#define EP_KEY_LEN 40
_Static_assert(offsetof(struct rs_flow_info, addr_len) == 1 &&
	       offsetof(struct rs_flow_info, vlan) == 2 &&
	       offsetof(struct rs_flow_info, cli_addr) == 4 &&
	       offsetof(struct rs_flow_info, srv_addr) == 20 &&
	       offsetof(struct rs_flow_info, cli_port) == 36 &&
	       offsetof(struct rs_flow_info, srv_port) == EP_KEY_LEN - 2,
	       "the endpoints must lie together, unpadded, in rs_flow_info");
struct ep_entry {
	alignas(64) uint8_t key[EP_KEY_LEN];   /* the bytes of rs_flow_info above */
	uint8_t len;                           /* 0: empty */
	char txt[EP_TXT_MAX];
};
_Static_assert(sizeof(struct ep_entry) == 256, "four cache lines per entry");
/* 128 sets of 2 ways, 64 KiB per thread (only entries in use get cached):
 * direct-mapped, 32 interleaved connections missed on ~12% of lines (pairs
 * sharing a slot); two ways keep both of a pair. */
#define EP_SETS 128
#define EP_WAYS 2
static _Thread_local struct ep_entry ep_cache[EP_SETS][EP_WAYS];

static const uint8_t *ep_key(const struct rs_flow_info *f)
{
	return (const uint8_t *)f;
}

/* Kept out of line: a miss is rare and would make every hit pay for its
 * registers. */
__attribute__((noinline))
static void ep_render(struct ep_entry *c, const struct rs_flow_info *f)
{
	char *q = c->txt;
	q = CPYL(q, ",\"src_ip\":\"");
	q = fmt_addr(q, f->cli_addr, f->addr_len);
	q = CPYL(q, "\",\"src_port\":");
	q = fmt_u64(q, f->cli_port);
	q = CPYL(q, ",\"dst_ip\":\"");
	q = fmt_addr(q, f->srv_addr, f->addr_len);
	q = CPYL(q, "\",\"dst_port\":");
	q = fmt_u64(q, f->srv_port);
	c->len = (uint8_t)(q - c->txt);
	memcpy(c->key, ep_key(f), EP_KEY_LEN);
}

static inline bool ep_hit(const struct ep_entry *c,
			  const struct rs_flow_info *f)
{
#if defined(__SSE2__) && !defined(RS_OUTPUT_NO_SSE2)
	v16 eq = (load16(ep_key(f)) == load16(c->key)) &
		 (load16(ep_key(f) + 16) == load16(c->key + 16)) &
		 (load16(ep_key(f) + EP_KEY_LEN - 16) == load16(c->key + EP_KEY_LEN - 16));
	return mask16(eq) == 0xffff && c->len != 0;
#else
	return memcmp(c->key, ep_key(f), EP_KEY_LEN) == 0 && c->len != 0;
#endif
}

/* A miss: the newest goes to way 0, the one there moves to way 1. */
__attribute__((noinline))
static struct ep_entry *ep_miss(struct ep_entry *set,
				const struct rs_flow_info *f)
{
	if (set[0].len)
		set[1] = set[0];
	ep_render(&set[0], f);
	return &set[0];
}

/* The set f's endpoints map to. */
static inline __attribute__((always_inline))
struct ep_entry *ep_set(const struct rs_flow_info *f)
{
	/* One multiply of the ports and the address words at both ends (IPv4
	 * uses the first) of both addresses: its top bits depend on every
	 * input bit, so client ports spread, and so do many clients on one
	 * port and one client's connections to many servers. */
	uint32_t ports, a0, a3, s0, s3;
	memcpy(&ports, ep_key(f) + offsetof(struct rs_flow_info, cli_port), 4);
	memcpy(&a0, f->cli_addr, 4);
	memcpy(&a3, f->cli_addr + 12, 4);
	memcpy(&s0, f->srv_addr, 4);
	memcpy(&s3, f->srv_addr + 12, 4);
	uint64_t h = ((uint64_t)ports << 32 | (a0 ^ a3 ^ s0 ^ s3)) *
		     UINT64_C(0x9e3779b97f4a7c15);
	_Static_assert(EP_SETS == 128, "h >> 57 picks one of 128 sets");
	return ep_cache[h >> 57];
}

/* Writes EP_TXT_MAX bytes (the line's bound counts that much anyway) and
 * returns the end of the text. */
static inline __attribute__((always_inline))
char *ep_copy(char *p, const struct ep_entry *c)
{
	/* IPv4 text is at most 88 bytes: copy 96, the rest only for IPv6. */
	memcpy(p, c->txt, 96);
	if (c->len > 96)
		memcpy(p + 96, c->txt + 96, EP_TXT_MAX - 96);
	return p + c->len;
}

/* f's entry, or NULL if it is not cached. */
static inline __attribute__((always_inline))
const struct ep_entry *ep_find(const struct rs_flow_info *f)
{
	struct ep_entry *set = ep_set(f);
	if (ep_hit(&set[0], f))
		return &set[0];
	if (ep_hit(&set[1], f))
		return &set[1];
	return NULL;
}

/* f's entry, rendered if it was not cached. */
static inline __attribute__((always_inline))
const struct ep_entry *ep_get(const struct rs_flow_info *f)
{
	const struct ep_entry *c = ep_find(f);
	return c ? c : ep_miss(ep_set(f), f);
}

static inline __attribute__((always_inline))
char *put_endpoints(char *p, const struct rs_flow_info *f)
{
	return ep_copy(p, ep_get(f));
}

/* JSON array of the names of the bits set in flags. */
static void put_flags(struct line *l, uint32_t flags,
		      const char *(*name_of)(unsigned bit))
{
	bool first = true;
	/* The set bits only, lowest first. */
	for (; flags; flags &= flags - 1) {
		const char *name = name_of((unsigned)__builtin_ctz(flags));
		if (!name)
			continue;
		if (first)
			PUTL(l, "[\"");
		else
			PUTL(l, "\",\"");
		puts_(l, name);
		first = false;
	}
	if (first)
		PUTL(l, "[]");
	else
		PUTL(l, "\"]");
}

static struct line line_begin(struct rs_outbuf *b)
{
	if (RS_OUTBUF_SIZE - b->len < RS_MAX_LINE)
		rs_outbuf_flush(b);
	return (struct line){b->buf + b->len, b->buf + RS_OUTBUF_SIZE - 1};
}

/* The line ends at p, its newline written. */
static void line_commit(struct rs_outbuf *b, char *p)
{
	b->len = (size_t)(p - b->buf);
	b->lines++;
	/* stdout is for people watching: do not sit on their lines. */
	if (b->sink->is_stdout)
		rs_outbuf_flush(b);
}

static void line_end(struct rs_outbuf *b, struct line *l)
{
	if (l->p < l->end)
		*l->p++ = '\n';
	line_commit(b, l->p);
}

/* The unchecked part of an HTTP line, up to and including "flags": (and
 * "[]}\n" when there are none), is at most: keys and punctuation (sizeof
 * below), ts 27, endpoints EP_TXT_MAX, three numbers of 20, each string 6
 * bytes per byte plus 16 of store slop.  CPY16 may store up to 15 bytes
 * past the end: within the 256 left. */
#define HTTP_KEYS "{\"ts\":" ",\"method\":\"" "\",\"uri\":\"" "\",\"host\":\"" \
	"\",\"version\":\"" "\",\"user_agent\":\"" "\",\"req_body_len\":" \
	",\"status\":" ",\"resp_body_len\":" ",\"flags\":" "[]}\n"
_Static_assert(sizeof HTTP_KEYS + 27 + EP_TXT_MAX + 3 * 20 + 5 * 16 + 6 *
	       (RS_HTTP_URI_MAX + RS_HTTP_HOST_MAX + RS_HTTP_UA_MAX +
		RS_HTTP_METHOD_MAX + RS_HTTP_VERSION_MAX) <= RS_MAX_LINE - 256,
	       "the unchecked part of an HTTP line must fit RS_MAX_LINE");

/* The status: nearly always three digits, one load from digits3.
 * short_only as for fmt_num. */
static inline __attribute__((always_inline))
char *put_status(char *p, int status, bool short_only)
{
	if (__builtin_expect((unsigned)status - 100u < 900u, 1)) {
		memcpy(p, digits3 + 4 * (size_t)status, 4);
		return p + 3;
	}
	if (status >= 0)
		return fmt_num(p, (uint64_t)status, short_only);
	return CPYL(p, "null");
}

/* The line's end from "flags" on, p being where it goes, when there are
 * flags (a few lines in ten at most): out of line, a tail call from both
 * ways. */
__attribute__((noinline))
static void http_end_flags(struct rs_outbuf *b, char *p, uint32_t flags)
{
	struct line l = {CPYL(p, ",\"flags\":"), b->buf + RS_OUTBUF_SIZE - 1};
	put_flags(&l, flags, rs_http_flag_name);
	PUTL(&l, "}");
	line_end(b, &l);
}

/* Where http_end starts: at the value of req_body_len, status or
 * resp_body_len. */
enum http_end_at { AT_REQ_LEN, AT_STATUS, AT_RESP_LEN };

static void http_end_any(struct rs_outbuf *b, char *p,
			 const struct rs_http_txn *t, enum http_end_at at);

/* The line from the value at on, p being where it goes.  The fast way
 * takes numbers below 10000: for a longer one it has the general way
 * finish the line, a tail call, so that the long number's registers are
 * not saved on every line. */
static inline __attribute__((always_inline))
void http_end(struct rs_outbuf *b, char *p, const struct rs_http_txn *t,
	      bool fast, enum http_end_at at)
{
	char *q;
	switch (at) {
	case AT_REQ_LEN:
		q = fmt_num(p, t->req_body_len, fast);
		if (fast && !q) {
			http_end_any(b, p, t, AT_REQ_LEN);
			return;
		}
		p = CPY16(q, ",\"status\":");
		/* fall through */
	case AT_STATUS:
		q = put_status(p, t->status, fast);
		if (fast && !q) {
			http_end_any(b, p, t, AT_STATUS);
			return;
		}
		p = CPYL(q, ",\"resp_body_len\":");
		/* fall through */
	case AT_RESP_LEN:
		q = fmt_num(p, t->resp_body_len, fast);
		if (fast && !q) {
			http_end_any(b, p, t, AT_RESP_LEN);
			return;
		}
		p = q;
	}
	if (t->flags) {
		http_end_flags(b, p, t->flags);
		return;
	}
	p = CPY16(p, ",\"flags\":[]}\n");
	if (fast) {             /* not on stdout: nothing to flush */
		b->len = (size_t)(p - b->buf);
		b->lines++;
	} else {
		line_commit(b, p);
	}
}

__attribute__((noinline))
static void http_end_any(struct rs_outbuf *b, char *p,
			 const struct rs_http_txn *t, enum http_end_at at)
{
	http_end(b, p, t, false, at);
}

/* One line, the general way (fast false: any line) or the fast way (fast
 * true), which only takes the usual line: whatever needs a call (a flush,
 * stdout, a new second, endpoints not cached, a byte that needs care)
 * makes it give the line up, returning false, and the general way writes
 * it again from its start (nothing is committed before the end).  With no
 * call left on it but a tail call, the fast way saves and restores no
 * registers per line.  fast is a constant: one layout, two functions. */
static inline __attribute__((always_inline))
bool http_line(struct rs_outbuf *b, const struct rs_flow_info *f,
	       const struct rs_http_txn *t, bool fast)
{
	uint64_t d = t->ts_ns - ts_last.base_ns;   /* ns into ts_last's second */
	const struct ep_entry *c;
	char *p;
	if (fast) {
		/* Also true with no sink, or on stdout (fast_below 0). */
		if (b->len >= b->fast_below || d > ts_last.span ||
		    !(c = ep_find(f)))
			return false;
		p = b->buf + b->len;
	} else {
		if (!b->sink)
			return true;
		p = line_begin(b).p;
		if (d > ts_last.span) {
			ts_new_sec(t->ts_ns);
			d = t->ts_ns - ts_last.base_ns;
		}
		c = ep_get(f);
	}
	/* A string field: NULL from the fast way gives the line up. */
#define HTTP_STR(fld, len) do {                                                \
		p = fast ? jstr_plain(p, (const uint8_t *)t->fld, (len), sizeof t->fld) \
			 : JSTR(p, t, fld, (len));                             \
		if (fast && !p)                                                \
			return false;                                          \
	} while (0)
	p = CPYL(p, "{\"ts\":");
	p = fmt_ts_in(p, d);
	p = ep_copy(p, c);
	p = CPY16(p, ",\"method\":\"");
	HTTP_STR(method, t->method_len);
	p = CPY16(p, "\",\"uri\":\"");
	HTTP_STR(uri, t->uri_len);
	/* An empty host or user agent is null. */
	if (t->host_len) {
		p = CPY16(p, "\",\"host\":\"");
		HTTP_STR(host, t->host_len);
		p = CPY16(p, "\",\"version\":\"");
	} else {
		p = CPYL(p, "\",\"host\":null,\"version\":\"");
	}
	HTTP_STR(version, t->version_len);
	if (t->ua_len) {
		p = CPYL(p, "\",\"user_agent\":\"");
		HTTP_STR(user_agent, t->ua_len);
		p = CPYL(p, "\",\"req_body_len\":");
	} else {
		p = CPYL(p, "\",\"user_agent\":null,\"req_body_len\":");
	}
#undef HTTP_STR
	http_end(b, p, t, fast, AT_REQ_LEN);
	return true;
}

__attribute__((noinline))
static void log_http_any(struct rs_outbuf *b, const struct rs_flow_info *f,
			 const struct rs_http_txn *t)
{
	http_line(b, f, t, false);
}

void rs_log_http(struct rs_outbuf *b, const struct rs_flow_info *f,
		 const struct rs_http_txn *t)
{
	if (!http_line(b, f, t, true))
		log_http_any(b, f, t);
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_ESP: return "esp";
	default: return NULL;   /* logged as its number */
	}
}

/* The flow flags a log reader cares about; the handshake bits are not. */
static const char *flow_flag_name(unsigned bit)
{
	switch (1u << bit) {
	case RS_FLOW_MIDSTREAM: return "midstream";
	case RS_FLOW_GAP: return "gap";
	case RS_FLOW_OOO_CAPPED: return "ooo_capped";
	case RS_FLOW_OVERLAP_DIFF: return "overlap_mismatch";
	default: return NULL;
	}
}

void rs_log_flow(struct rs_outbuf *b, const struct rs_flow_info *f,
		 enum rs_flow_end_reason why)
{
	if (!b->sink)
		return;
	struct line l = line_begin(b);
	const char *proto = proto_name(f->proto);
	/* Unchecked up to bytes_to_client: at most 12 for the proto, then
	 * EP_TXT_MAX, keys under 200 and eight numbers of at most 27. */
	char *p = CPYL(l.p, "{\"proto\":\"");
	if (proto) {
		size_t n = strlen(proto);
		memcpy(p, proto, n);
		p += n;
	} else {
		p = fmt_u64(p, f->proto);
	}
	p = CPYL(p, "\"");
	p = put_endpoints(p, f);
	if (f->vlan) {
		p = CPYL(p, ",\"vlan\":");
		p = fmt_u64(p, f->vlan);
	}
	p = CPYL(p, ",\"first_ts\":");
	p = fmt_ts(p, f->first_ts_ns);
	p = CPYL(p, ",\"last_ts\":");
	p = fmt_ts(p, f->last_ts_ns);
	p = CPYL(p, ",\"pkts_to_server\":");
	p = fmt_u64(p, f->pkts[0]);
	p = CPYL(p, ",\"pkts_to_client\":");
	p = fmt_u64(p, f->pkts[1]);
	p = CPYL(p, ",\"bytes_to_server\":");
	p = fmt_u64(p, f->bytes[0]);
	p = CPYL(p, ",\"bytes_to_client\":");
	l.p = fmt_u64(p, f->bytes[1]);
	PUTL(&l, ",\"state\":\"");
	puts_(&l, f->state ? f->state : "unknown");
	PUTL(&l, "\",\"end_reason\":\"");
	puts_(&l, rs_flow_end_reason_name(why));
	PUTL(&l, "\",\"gaps\":");
	put_u64(&l, f->gaps);
	PUTL(&l, ",\"flags\":");
	put_flags(&l, f->flags, flow_flag_name);
	PUTL(&l, "}");
	line_end(b, &l);
}
