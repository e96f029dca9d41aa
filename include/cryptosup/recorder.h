/* The capture writer behind `run --record DIR`: the loop thread copies
 * frames and capture events into a preallocated byte ring (no lock, no
 * allocation per frame) and one writer thread appends them to
 * DIR/<name>/live.jsonl and live.recv_ts.txt, the format `replay` reads.
 * When the ring is full the record is dropped and counted, and the file
 * gets a `#cs-event {"kind":"record_gap",...}` line in its place. */
#ifndef CRYPTOSUP_RECORDER_H
#define CRYPTOSUP_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/err.h"

#define CS_RECORD_RING_BYTES (16u << 20)   /* default ring size */
#define CS_RECORD_HEADER_BYTES 16u         /* ring overhead per record */
#define CS_RECORD_MAX_FILES 64             /* captures per recorder */

struct cs_recorder;

/* Start the writer thread over a ring of `ring_bytes` (at least 1 KiB;
 * a record needs CS_RECORD_HEADER_BYTES plus its length). `dir` is copied
 * and created by the writer when the first capture opens. Returns NULL
 * (logged) if the thread cannot start. */
struct cs_recorder *cs_recorder_new(const char *dir, size_t ring_bytes);

/* Register the capture DIR/<name>/ and return its id, or -1 when
 * CS_RECORD_MAX_FILES are in use or `name` is empty, longer than 63
 * bytes, or contains '/'. The writer thread creates and opens the files
 * (a failure is logged there once and the capture's records are
 * discarded). `name` is copied. Loop thread only. */
int cs_recorder_open(struct cs_recorder *r, const char *name);

/* Queue one frame of capture `file`, received at `recv_ns` (wall clock),
 * for a line of its own (raw CR and LF become spaces). Copies `text`;
 * never blocks or allocates. CS_ERR_LIMIT: the ring has no room (or the
 * frame is larger than it), the frame was dropped and counted, and a
 * record_gap line will precede the capture's next record. Loop thread
 * only (the single producer). */
enum cs_err cs_recorder_frame(struct cs_recorder *r, int file,
                              const char *text, size_t len, int64_t recv_ns);

/* Queue a capture event: the line becomes `#cs-event <json>`, with
 * `recv_ns` in the times file. Same contract as cs_recorder_frame. */
enum cs_err cs_recorder_event(struct cs_recorder *r, int file,
                              const char *json, size_t len, int64_t recv_ns);

/* Records of `file` dropped so far (frames and events). Loop thread. */
uint64_t cs_recorder_dropped(const struct cs_recorder *r, int file);
/* Failed writes of `file` on the writer thread. Any thread. */
uint64_t cs_recorder_write_errors(const struct cs_recorder *r, int file);
/* Bytes waiting in the ring; the ring's size. Any thread. */
size_t cs_recorder_queued_bytes(const struct cs_recorder *r);
size_t cs_recorder_capacity(const struct cs_recorder *r);

/* Queue the pending record_gap lines, let the writer write everything
 * queued, flush and close the files, join the thread and free. Blocks
 * (not for the hot path: at shutdown). NULL is fine. Loop thread. */
void cs_recorder_free(struct cs_recorder *r);

#endif
