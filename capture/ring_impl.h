/* ring_impl.h - TPACKET_V3 ring internals: the ring state and the two verbs
 * of the kernel/user block handoff (private to capture/ and its tests). */
#ifndef RS_RING_IMPL_H
#define RS_RING_IMPL_H

#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rs_capture.h"

#define RS_CACHELINE 64

struct rs_ring {
	/* Worker side: read on every poll, written only by the ring's owner
	 * (set_filter/poll), never by the reporter. */
	int fd;
	uint8_t *map;             /* block_nr blocks of block_size bytes */
	size_t map_len;
	uint32_t block_size, block_nr;
	uint32_t cur;             /* next block to read, in ring order */
	uint32_t snaplen;         /* caplen cut (RS_MAX_CAPLEN when off) */
	uint32_t ifindex;
	int linktype;
	int dead;                 /* sticky -ENETDOWN once the interface went */
	int fanout_mode;
	bool filtered;            /* drop-all replaced: no more draining */
	bool ignore_outgoing;
	uint64_t last_seq;        /* seq_num of the last block walked */
	/* Written by the worker with relaxed atomic stores (single writer),
	 * read by rs_ring_stats() with relaxed loads. */
	uint64_t frames, blocks, bad_blocks, seq_gaps, drained;
	char ifname[IF_NAMESIZE];
	char err[RS_CAPTURE_ERRLEN];

	/* Reporter side, on its own cache line: the kernel counters'
	 * 64-bit totals, under stats_lock. */
	_Alignas(RS_CACHELINE) pthread_mutex_t stats_lock;
	uint64_t k_packets, k_drops, k_freezes;
};

static inline struct tpacket_block_desc *ring_block(const struct rs_ring *r,
						    uint32_t i)
{
	return (struct tpacket_block_desc *)(r->map +
					     (size_t)i * r->block_size);
}

/* The kernel has handed the block to user space.  Acquire pairs with the
 * kernel's smp_wmb() before it writes block_status, so the frames written
 * before it are visible once TP_STATUS_USER is. */
static inline bool user_may_pull(const struct tpacket_block_desc *bd)
{
	return __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

/* Give the block back.  Release: every read of its frames happens before
 * the kernel can see it free and overwrite it. */
static inline void kernel_may_pull(struct tpacket_block_desc *bd)
{
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
			 __ATOMIC_RELEASE);
}

/* Test seam: ring requests larger than this many bytes fail as if the
 * kernel returned ENOMEM (0 = off).  Only tests set it, before opening. */
extern uint64_t rs_ring_test_fail_above;

/* Test view: sequence number of the last block walked (kernel numbers blocks
 * from 1, so after n blocks in order it is n). */
static inline uint64_t rs_ring_last_seq(const struct rs_ring *r)
{
	return r->last_seq;
}

#endif /* RS_RING_IMPL_H */
