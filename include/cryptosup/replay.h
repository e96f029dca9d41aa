/* Replay of recorded raw frames (one frame per line, JSON Lines) through
 * the engine, with receive times from a companion FILE.recv_ts.txt when it
 * exists, paced or as fast as possible. The same input always gives the
 * same output. */
#ifndef CRYPTOSUP_REPLAY_H
#define CRYPTOSUP_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cryptosup/engine.h"

struct cs_replay_options {
    const char *exchange;         /* NULL: the file's parent directory name */
    double speed;                 /* 0: as fast as possible; 1: real time */
    const char *config_path;      /* for SIGHUP reloads; NULL: defaults */
    volatile sig_atomic_t *stop;     /* set by SIGINT/SIGTERM */
    volatile sig_atomic_t *reload;   /* set by SIGHUP */
};

struct cs_replay_stats {
    uint64_t files;
    uint64_t lines;
    uint64_t blank_lines;
    uint64_t oversize_lines;
};

/* Replay one file. CS_ERR_INVAL when no venue can be determined,
 * CS_ERR_IO when the file cannot be read; otherwise CS_OK (bad lines are
 * counted by the engine, never fatal). */
enum cs_err cs_replay_file(struct cs_engine *e, const char *path,
                           const struct cs_replay_options *opt,
                           struct cs_replay_stats *stats);

/* The venue for a file: opt->exchange, else its parent directory's name. */
const struct cs_venue_ops *cs_replay_venue_for(const char *path,
                                               const char *exchange);

#endif
