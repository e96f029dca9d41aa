/* cryptosup: argv, the bootstrap config path, signals, and dispatch to the
 * run/check/replay/version commands (src/cli/) with their exit codes
 * (0 ok, 1 failure, 2 usage). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cryptosup/config.h"
#include "cryptosup/log.h"
#include "cryptosup/rules.h"

volatile sig_atomic_t cli_stop_requested;
volatile sig_atomic_t cli_reload_requested;

static void on_stop_signal(int sig)
{
    static const char msg[] = "second signal: exiting now\n";
    (void)sig;
    if (cli_stop_requested) {
        /* Only async-signal-safe calls here. */
        ssize_t n = write(2, msg, sizeof msg - 1);
        (void)n;
        _exit(1);
    }
    cli_stop_requested = 1;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    cli_reload_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void usage(FILE *out)
{
    fputs("usage:\n"
          "  cryptosup run    [-c config.lua] [--emit ticks,alerts] "
          "[--record DIR]\n"
          "  cryptosup check  [-c config.lua]\n"
          "  cryptosup test-alert [-c config.lua]   (one test alert through "
          "every route)\n"
          "  cryptosup replay [-c config.lua] [--exchange NAME] "
          "[--emit ticks,alerts]\n"
          "                   [--speed X | --as-fast-as-possible] FILE...\n"
          "  cryptosup version\n"
          "\n"
          "Common options: --log-level debug|info|warn|error,\n"
          "  --metrics-out FILE (run, replay): final metrics, Prometheus text\n"
          "Without -c, run and check use the shipped config/config.lua;\n"
          "replay watches every instrument with the shipped rules.\n", out);
}

static bool parse_emit(const char *text, struct options *o)
{
    char buf[64];
    char *save = NULL;
    if (strlen(text) >= sizeof buf) {
        return false;
    }
    strcpy(buf, text);
    for (char *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "ticks") == 0) {
            o->emit_ticks = true;
        } else if (strcmp(tok, "alerts") == 0) {
            o->emit_alerts = true;
        } else {
            return false;
        }
    }
    return true;
}

/* Parse options after the command; returns the index of the first
 * operand, or -1 on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct options *o,
                         bool replay)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "emit", required_argument, NULL, 'e' },
        { "exchange", required_argument, NULL, 'x' },
        { "speed", required_argument, NULL, 's' },
        { "as-fast-as-possible", no_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'l' },
        { "record", required_argument, NULL, 'r' },
        { "metrics-out", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    char *end;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            o->config_given = true;
            break;
        case 'e':
            if (!parse_emit(optarg, o)) {
                fprintf(stderr, "cryptosup: --emit takes ticks, alerts or "
                        "ticks,alerts\n");
                return -1;
            }
            break;
        case 'x':
            o->exchange = optarg;
            break;
        case 's':
            errno = 0;
            o->speed = strtod(optarg, &end);
            if (errno || *end || !(o->speed > 0) || o->speed > 1e9) {
                fprintf(stderr, "cryptosup: --speed takes a positive "
                        "number\n");
                return -1;
            }
            break;
        case 'f':
            o->speed = 0;
            break;
        case 'l':
            if (!cs_log_parse_level(optarg, &o->log_level)) {
                fprintf(stderr, "cryptosup: bad --log-level %s\n", optarg);
                return -1;
            }
            o->log_level_given = true;
            break;
        case 'r':
            o->record = optarg;
            break;
        case 'm':
            o->metrics_out = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!replay && (o->exchange || o->speed > 0)) {
        fprintf(stderr, "cryptosup: --exchange and --speed are for "
                "replay\n");
        return -1;
    }
    if (replay && o->record) {
        fprintf(stderr, "cryptosup: --record is for run\n");
        return -1;
    }
    return optind;
}

static const char *default_config(char *buf, size_t size)
{
    snprintf(buf, size, "%s/config/config.lua", cs_config_data_dir());
    return buf;
}

int main(int argc, char **argv)
{
    struct options o;
    char config_buf[4096];
    const char *cmd = "run";
    int first;

    memset(&o, 0, sizeof o);
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("cryptosup %s (%s)\n", CS_VERSION, cs_rules_lua_release());
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0 &&
        strcmp(cmd, "replay") != 0 && strcmp(cmd, "test-alert") != 0) {
        fprintf(stderr, "cryptosup: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    first = parse_options(argc, argv, &o, strcmp(cmd, "replay") == 0);
    if (first < 0) {
        return 2;
    }
    if (o.log_level_given) {
        cs_log_set_level(o.log_level);
    }
    if (!o.config_given && strcmp(cmd, "replay") != 0) {
        o.config = default_config(config_buf, sizeof config_buf);
    }
    install_signals();
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(&o);
    }
    if (strcmp(cmd, "test-alert") == 0) {
        return cmd_test_alert(&o);
    }
    if (strcmp(cmd, "replay") == 0) {
        return cmd_replay(&o, argc - first, argv + first);
    }
    if (first < argc) {
        fprintf(stderr, "cryptosup run: unexpected argument %s\n",
                argv[first]);
        return 2;
    }
    return cmd_run(&o);
}
