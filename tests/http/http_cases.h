/* http_cases.h - scripted HTTP/1.x connections and what they must yield (tests only). */
#ifndef HTTP_CASES_H
#define HTTP_CASES_H

#include "http_harness.h"

#define FG(x) RS_HTTP_F_##x
#define ANY -1

struct exp {
	const char *method, *uri, *host, *ua; /* NULL: not checked */
	int status;
	long long req_body, resp_body;        /* ANY: not checked */
	uint32_t flags;                       /* always checked */
};

struct tcase {
	const char *name;
	int midstream;
	struct step steps[MAX_STEPS];
	int ntx;
	struct exp tx[8];
	/* Layer counters checked exactly (unlisted ones: 0). */
	int resyncs, orphans, upgrades, evicted, not_http;
};

#define D0(s) { S_D0, s, 0 }
#define D1(s) { S_D1, s, 0 }
#define B0(s) { S_D0, s, sizeof(s) - 1 } /* may hold NUL bytes */
#define B1(s) { S_D1, s, sizeof(s) - 1 }
#define GAP0(n) { S_GAP0, NULL, n }
#define GAP1(n) { S_GAP1, NULL, n }
#define EOF0 { S_EOF0, NULL, 0 }
#define EOF1 { S_EOF1, NULL, 0 }
#define OK0 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

static const struct tcase cases[] = {
{ "get_content_length", 0, {
	D0("GET /index.html HTTP/1.1\r\nHost: example.com\r\n"
	   "User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	   "Content-Type: text/plain\r\n\r\nhello") },
  1, { { "GET", "/index.html", "example.com", "curl/8.0", 200, 0, 5, 0 } } },

{ "pipelined_one_segment", 0, {
	D0("\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n"
	   "\r\nHEAD /c HTTP/1.1\r\nHost: h\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
	   "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBB"
	   "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n") },
  3, { { "GET", "/a", "h", NULL, 200, 0, 1, 0 },
       { "GET", "/b", "h", NULL, 404, 0, 2, 0 },
       { "HEAD", "/c", "h", NULL, 200, 0, 0, 0 } } },

{ "post_body_chunked_response", 0, {
	D0("POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"
	   "hello world"),
	D1("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	   "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") },
  1, { { "POST", "/submit", "h", NULL, 201, 11, 9, FG(CHUNKED) } } },

{ "chunked_extensions_trailers", 0, {
	D0("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	   "5;name=val\r\nhello\r\nA ; ext=\"q\"\r\n0123456789\r\n"
	   "0;last\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	   "3;a=b\r\nabc\r\n0\r\nChecksum: x\r\n\r\n"),
	D0("GET /next HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 204 No Content\r\n\r\n") },
  2, { { "POST", "/up", "h", NULL, 200, 15, 3, FG(CHUNKED) },
       { "GET", "/next", "", NULL, 204, 0, 0, 0 } } },

{ "head_204_304_no_body", 0, {
	D0("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\n\r\n"
	   "GET /z HTTP/1.1\r\n\r\nGET /w HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
	   "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
	   "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n"
	   "Transfer-Encoding: chunked\r\n\r\n"
	   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") },
  4, { { "HEAD", "/x", "h", NULL, 200, 0, 0, 0 },
       { "GET", "/y", NULL, NULL, 204, 0, 0, 0 },
       { "GET", "/z", NULL, NULL, 304, 0, 0, 0 },
       { "GET", "/w", NULL, NULL, 200, 0, 2, 0 } } },

{ "expect_100_continue_and_103", 0, {
	D0("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
	   "Content-Length: 4\r\n\r\n"),
	D1("HTTP/1.1 100 Continue\r\n\r\n"),
	D0("data"),
	D1("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
	   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") },
  1, { { "POST", "/p", "h", NULL, 200, 4, 2, 0 } } },

{ "connection_close_body", 0, {
	D0("GET /old HTTP/1.0\r\n\r\n"),
	D1("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"
	   "<html>body</html>"),
	D1("more"),
	EOF1 },
  1, { { "GET", "/old", "", NULL, 200, 0, 21, 0 } } },

{ "te_gzip_response_reads_to_close", 0, {
	D0("GET /z HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nABCDEF"),
	EOF1 },
  1, { { "GET", "/z", NULL, NULL, 200, 0, 6, 0 } } },

{ "unanswered_at_eof", 0, {
	D0("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
	D1(OK0), EOF0, EOF1 },
  2, { { "GET", "/a", NULL, NULL, 200, 0, 0, 0 },
       { "GET", "/b", NULL, NULL, -1, 0, 0, FG(NO_RESPONSE) } } },

{ "smuggling_te_and_cl", 0, {
	D0("POST /s HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
	   "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	   "GET /after HTTP/1.1\r\n\r\n"),
	D1(OK0 OK0) },
  2, { { "POST", "/s", "h", NULL, 200, 3, 0, FG(SMUGGLING) | FG(CHUNKED) },
       { "GET", "/after", NULL, NULL, 200, 0, 0, 0 } } },

{ "smuggling_two_content_lengths", 0, {
	D0("POST /s HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n"
	   "abcdeGET /after HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" OK0) },
  2, { { "POST", "/s", NULL, NULL, 400, 0, 0,
	 FG(SMUGGLING) | FG(BAD_REQUEST) },
       { "GET", "/after", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 1 },

{ "same_content_length_twice_ok", 0, {
	D0("POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"
	   "abcPOST /b HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nxy"),
	D1(OK0 OK0) },
  2, { { "POST", "/a", NULL, NULL, 200, 3, 0, 0 },
       { "POST", "/b", NULL, NULL, 200, 2, 0, 0 } } },

{ "smuggling_te_not_final_chunked", 0, {
	D0("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
	   "0\r\n\r\nPOST /y HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"
	   "GET /z HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
	   "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" OK0) },
  3, { { "POST", "/x", NULL, NULL, 400, 0, 0,
	 FG(SMUGGLING) | FG(BAD_REQUEST) },
       { "POST", "/y", NULL, NULL, 400, 0, 0,
	 FG(SMUGGLING) | FG(BAD_REQUEST) },
       { "GET", "/z", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 2 },

{ "smuggling_space_before_colon_and_http10_te", 0, {
	D0("POST /x HTTP/1.1\r\nTransfer-Encoding : chunked\r\n"
	   "Content-Length: 3\r\n\r\n0\r\n\r\n"
	   "POST /y HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
	   "2\r\nab\r\n0\r\n\r\n"),
	D1(OK0 OK0) },
  2, { { "POST", "/x", NULL, NULL, 200, 0, 0,
	 FG(SMUGGLING) | FG(BAD_REQUEST) | FG(CHUNKED) },
       { "POST", "/y", NULL, NULL, 200, 2, 0,
	 FG(SMUGGLING) | FG(CHUNKED) } } },

{ "smuggling_response_te_cl_and_cl_conflict", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	   "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
	   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"
	   "abcHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx") },
  3, { { "GET", "/1", NULL, NULL, 200, 0, 2, FG(SMUGGLING) | FG(CHUNKED) },
       { "GET", "/2", NULL, NULL, 200, 0, 0,
	 FG(SMUGGLING) | FG(BAD_RESPONSE) },
       { "GET", "/3", NULL, NULL, 200, 0, 1, 0 } },
  .resyncs = 1 },

{ "obs_fold_and_bare_lf", 0, {
	D0("GET /f HTTP/1.1\nHost: example.org\nUser-Agent: Mozilla/5.0\n"
	   " (X11; Linux)\n\tGecko \nX-A: b\n\n"),
	D1("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc") },
  1, { { "GET", "/f", "example.org", "Mozilla/5.0 (X11; Linux) Gecko",
	 200, 0, 3, 0 } } },

{ "upgrade_websocket", 0, {
	D0("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	   "Connection: Upgrade\r\n\r\n"),
	B1("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	   "Connection: Upgrade\r\n\r\n\x81\x05hello"),
	B0("\x81\x85junk\x00GET /not HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\n\r\n") },
  1, { { "GET", "/chat", "h", NULL, 101, 0, 0, FG(UPGRADE) } },
  .upgrades = 1 },

{ "connect_tunnel", 0, {
	D0("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
	B0("\x16\x03\x01\x00\x05hello"),
	D1("HTTP/1.1 200 Connection established\r\n\r\n"),
	B1("\x16\x03\x03\x00\x02hi"),
	B0("GET / HTTP/1.1\r\n\r\n") },
  1, { { "CONNECT", "example.com:443", "example.com:443", NULL, 200, 0, 0,
	 FG(UPGRADE) } },
  .upgrades = 1 },

{ "connect_refused_then_http", 0, {
	D0("CONNECT a:443 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 407 Proxy Authentication Required\r\n"
	   "Content-Length: 4\r\n\r\nnope"),
	D0("GET /x HTTP/1.1\r\n\r\n"),
	D1(OK0) },
  2, { { "CONNECT", "a:443", NULL, NULL, 407, 0, 4, 0 },
       { "GET", "/x", NULL, NULL, 200, 0, 0, 0 } } },

{ "http2_prior_knowledge", 0, {
	B0("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00"),
	B1("\x00\x00\x00\x04\x01\x00\x00\x00\x00") },
  1, { { "PRI", "*", NULL, NULL, -1, 0, 0, FG(UPGRADE) | FG(NO_RESPONSE) } },
  .upgrades = 1 },

{ "gap_in_request_body", 0, {
	D0("POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
	GAP0(4),
	D0("xyzGET /b HTTP/1.1\r\n\r\n"),
	D1(OK0 OK0) },
  2, { { "POST", "/a", NULL, NULL, 200, 6, 0, FG(GAP) },
       { "GET", "/b", NULL, NULL, 200, 0, 0, 0 } } },

{ "gap_in_response_body", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"),
	GAP1(3),
	D1("789HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") },
  2, { { "GET", "/1", NULL, NULL, 200, 0, 7, FG(GAP) },
       { "GET", "/2", NULL, NULL, 200, 0, 2, 0 } } },

{ "gap_in_request_headers_resync", 0, {
	D0("GET /a HTTP/1.1\r\nHost: a.example\r\nX-Lon"),
	GAP0(20),
	D0("g: zzz\r\n\r\nGET /b HTTP/1.1\r\nHost: b.example\r\n\r\n"),
	D1(OK0 "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n") },
  2, { { "GET", "/a", "a.example", NULL, 200, 0, 0, FG(GAP) },
       { "GET", "/b", "b.example", NULL, 302, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_in_response_headers_resync", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Le"),
	GAP1(30),
	D1("ngth: 5\r\n\r\nhelloHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") },
  2, { { "GET", "/1", NULL, NULL, 200, 0, 0, FG(GAP) },
       { "GET", "/2", NULL, NULL, 201, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_in_chunked_request_resync", 0, {
	D0("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab"),
	GAP0(10),
	D0("\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n"),
	D1(OK0 OK0) },
  2, { { "POST", "/c", NULL, NULL, 200, 2, 0, FG(CHUNKED) | FG(GAP) },
       { "GET", "/n", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_in_chunked_response_resync", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
	GAP1(10),
	D1("xx\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") },
  2, { { "GET", "/1", NULL, NULL, 200, 0, 2, FG(CHUNKED) | FG(GAP) },
       { "GET", "/2", NULL, NULL, 404, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_swallows_whole_response", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
	GAP1(40),
	D1("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n") },
  3, { { "GET", "/1", NULL, NULL, 200, 0, 1, 0 },
       { "GET", "/2", NULL, NULL, -1, 0, 0, FG(GAP) },
       { "GET", "/3", NULL, NULL, 202, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_swallows_whole_request", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\n"),
	GAP0(19),
	D0("GET /3 HTTP/1.1\r\n\r\n"),
	D1(OK0 "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
	   "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n") },
  3, { { "GET", "/1", NULL, NULL, 200, 0, 0, 0 },
       { "", "", NULL, NULL, 201, 0, 0, FG(GAP) },
       { "GET", "/3", NULL, NULL, 202, 0, 0, 0 } },
  .resyncs = 1 },

{ "gap_in_close_delimited_body", 0, {
	D0("GET /1 HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.0 200 OK\r\n\r\nabc"),
	GAP1(100),
	D1("def"), EOF1 },
  1, { { "GET", "/1", NULL, NULL, 200, 0, 6, FG(GAP) } } },

{ "midstream_resync_both_directions", 1, {
	D0("ody-of-a-post\r\nmore\r\nGET /m HTTP/1.1\r\nHost: h\r\n\r\n"),
	D1("tail of an older response\r\nHTTP/1.1 200 OK\r\n"
	   "Content-Length: 0\r\n\r\n") },
  1, { { "GET", "/m", "h", NULL, 200, 0, 0, FG(MIDSTREAM) } },
  .resyncs = 2 },

{ "proxy_protocol_line_then_request", 0, {
	D0("PROXY TCP4 198.18.0.1 198.18.0.2 5555 80\r\nGET / HTTP/1.1\r\n\r\n"),
	D1(OK0) },
  1, { { "GET", "/", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 1 },

{ "orphan_response", 0, {
	D1("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
	D0("GET /late HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 304 Not Modified\r\n\r\n") },
  1, { { "GET", "/late", NULL, NULL, 304, 0, 0, 0 } },
  .orphans = 1 },

{ "duplicate_host_bad_cl_response", 0, {
	D0("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	D1("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nxyz"), EOF1 },
  1, { { "GET", "/", "a", NULL, 200, 0, 0,
	 FG(BAD_REQUEST) | FG(BAD_RESPONSE) } } },

{ "bad_request_line_gets_its_response", 0, {
	D0("GET /a HTTP/1.1\r\n\r\nGET /b\r\nGET /c HTTP/1.1\r\n\r\n"),
	D1(OK0 "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" OK0) },
  3, { { "GET", "/a", NULL, NULL, 200, 0, 0, 0 },
       { "GET", "/b", NULL, NULL, 400, 0, 0, FG(BAD_REQUEST) },
       { "GET", "/c", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 1 },

{ "bad_chunk_size", 0, {
	D0("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"
	   "GET /d HTTP/1.1\r\n\r\n"),
	D1(OK0 OK0) },
  2, { { "POST", "/c", NULL, NULL, 200, 0, 0, FG(BAD_REQUEST) | FG(CHUNKED) },
       { "GET", "/d", NULL, NULL, 200, 0, 0, 0 } },
  .resyncs = 1 },

{ "eof_inside_head", 0, {
	D0("GET /x HTTP/1.1\r\nHost: h"), EOF0, EOF1 },
  1, { { "GET", "/x", "h", NULL, -1, 0, 0,
	 FG(BAD_REQUEST) | FG(NO_RESPONSE) } } },

/* Start lines on both sides of their parsers' fast paths: GET then more
 * blanks, another method, a version other than 1.1, blanks before it, a
 * status line of 12 bytes, blanks other than one SP around the code
 * (accepted), and a code that is no number. */
{ "start_line_forms", 0, {
	D0("GET  /a HTTP/1.1\r\n\r\nGET /b HTTP/1.0\r\n\r\n"
	   "HEAD /c HTTP/1.1\r\n\r\nGET /d  HTTP/1.1\r\n\r\n"
	   "GET /e HTTP/1.1\r\n\r\n"),
	D1("HTTP/1.1 204\r\n\r\n"
	   "HTTP/1.1  201 Two SP\r\nContent-Length: 0\r\n\r\n"
	   "HTTP/1.1\t202 Tab\r\nContent-Length: 0\r\n\r\n"
	   "HTTP/1.1 203\tTab\r\nContent-Length: 0\r\n\r\n"
	   "HTTP/1.1 2x0 Odd\r\nContent-Length: 0\r\n\r\n"), EOF1 },
  5, { { "GET", "/a", NULL, NULL, 204, 0, 0, 0 },
       { "GET", "/b", NULL, NULL, 201, 0, 0, 0 },
       { "HEAD", "/c", NULL, NULL, 202, 0, 0, 0 },
       { "GET", "/d", NULL, NULL, 203, 0, 0, 0 },
       { "GET", "/e", NULL, NULL, -1, 0, 0, FG(BAD_RESPONSE) } } },

{ "not_http_short_binary", 0, {
	B0("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\nabc\n"),
	B1("\x16\x03\x03\x00\x7a\x02\x00") },
  0, { { 0 } }, .not_http = 1 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

#endif /* HTTP_CASES_H */
