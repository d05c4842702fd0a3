/* mnet_repl.c - the interactive prompt and scripted command runner.
 *
 *   mnet                      interactive (line editing, history, completion)
 *   mnet -c 'load x.mnet; train 100; eval'
 *   echo 'load x.mnet' | mnet  commands from a pipe
 *
 * Commands: load FILE [TASK], show, set NAME VALUE, train N, eval,
 * save FILE, open FILE, emit FILE.c, help [CMD], quit.  An error never leaves the REPL; in
 * scripted use the exit status is 1 when any command failed.
 *
 * Ctrl-C: at the prompt it drops the line being typed and prompts again;
 * during `train` it stops after the current batch and keeps everything.  In
 * a script (-c or a pipe) it stops the script after the running command,
 * saying so, with exit status 130 (128 + SIGINT, as a shell).
 */
#include "mnet_repl.h"
#include "mnet_plot.h"
#include "mnet_probe.h"

#include <editline/readline.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_session.h"

/* Ctrl-C since the prompt (or, in a script, ever): stops `train` after the
 * current batch, the line being typed, or a script. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

enum {
    MAX_TRAIN_BATCHES = 1000000000,  /* `train N`: at most 1e9 batches */
    EXIT_INTERRUPTED = 128 + SIGINT, /* a script stopped by Ctrl-C */
};

static const struct {
    const char *name, *args, *help;
} commands[] = {
    {"load", "FILE.mnet [TASK]", "compile a model file and its task (diagnostics on errors)"},
    {"show", "", "the model's sizes, muscles, parameters and the task settings"},
    {"set", "NAME VALUE", "change a model parameter (no recompile) or a task setting (e.g. set delay.vision 50 ms)"},
    {"train", "N", "train N batches (Ctrl-C stops after the current batch and keeps everything)"},
    {"eval", "[FILE.mnet [--task T]] [--set NAME=VALUE]... [--episodes N] [--seed S] [--out FILE]",
     "run the network (no training) on its validation set or a probe task; record the episodes to --out"},
    {"plot", "DIR|EPISODES.safetensors [--out DIR] [--episode K]", "SVG figures of a run or recorded episodes"},
    {"save", "FILE", "write a checkpoint: sources, network, optimiser, batch count (atomic)"},
    {"open", "FILE", "continue from a checkpoint (needs nothing but the file)"},
    {"emit", "FILE.c [--precision float|double]", "write the model as standalone C with the run embedded"},
    {"help", "[COMMAND]", "this list, or one command"},
    {"quit", "", "leave (also: exit, Ctrl-D)"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static mnet_session *completion_session;

static char *complete_command(const char *text, int state)
{
    static int i;
    static size_t len;
    if (!state) {
        i = 0;
        len = strlen(text);
    }
    while (i < N_COMMANDS) {
        const char *name = commands[i++].name;
        if (!strncmp(name, text, len))
            return strdup(name);
    }
    return NULL;
}

static char *complete_name(const char *text, int state)
{
    static char **names;
    static int i;
    static size_t len;
    if (!state) {
        if (names) {
            for (int k = 0; names[k]; k++)
                free(names[k]);
            free(names);
        }
        names = session_names(completion_session);
        i = 0;
        len = strlen(text);
    }
    while (names && names[i]) {
        const char *n = names[i++];
        if (!strncmp(n, text, len))
            return strdup(n);
    }
    return NULL;
}

/* First word: a command; after `set`: names; otherwise file names. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    int first = 1;
    for (int k = 0; k < start; k++)
        if (rl_line_buffer[k] != ' ')
            first = 0;
    if (first)
        return rl_completion_matches(text, complete_command);
    if (!strncmp(rl_line_buffer, "set ", 4) || !strncmp(rl_line_buffer, "help ", 5))
        return rl_completion_matches(text, strncmp(rl_line_buffer, "set", 3) ? complete_command : complete_name);
    return NULL; /* file names, libedit's default */
}

static void help(const char *cmd, FILE *out)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (!cmd || !strcmp(cmd, commands[i].name))
            fprintf(out, "  %-6s %-18s %s\n", commands[i].name, commands[i].args, commands[i].help);
    if (cmd) {
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(cmd, commands[i].name))
                return;
        fprintf(out, "mnet: no command '%s'\n", cmd);
    }
}

/* Splits a line into at most max words (in place).  Returns the count. */
static int split(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = strtok(line, " \t\r\n"); p && n < max; p = strtok(NULL, " \t\r\n"))
        words[n++] = p;
    return n;
}

/* `train N`'s N: a whole number from 1 to MAX_TRAIN_BATCHES; 0 (after
 * saying why) otherwise. */
static long parse_batches(const char *text, FILE *out)
{
    char *end = NULL;
    errno = 0;
    long k = strtol(text, &end, 10);
    if (end == text || *end) {
        fprintf(out, "mnet: train: '%s' is not a whole number of batches (usage: train N)\n", text);
        return 0;
    }
    if (errno == ERANGE || k < 1 || k > MAX_TRAIN_BATCHES) {
        fprintf(out, "mnet: train: %s batches is out of range; N is from 1 to %d\n", text, MAX_TRAIN_BATCHES);
        return 0;
    }
    return k;
}

/* Runs the command of the n words w; returns 0 ok, 1 failed, -1 quit. */
static int run_words(mnet_session *s, char **w, int n, FILE *out)
{
    const char *cmd = w[0];
    if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit"))
        return -1;
    if (!strcmp(cmd, "help")) {
        help(n > 1 ? w[1] : NULL, out);
        return 0;
    }
    if (!strcmp(cmd, "load")) {
        if (n < 2 || n > 3) {
            fprintf(out, "usage: load FILE.mnet [TASK]\n");
            return 1;
        }
        return session_load(s, w[1], n > 2 ? w[2] : NULL, out, out);
    }
    if (!strcmp(cmd, "show")) {
        session_show(s, out);
        return 0;
    }
    if (!strcmp(cmd, "set")) {
        if (n < 3) {
            fprintf(out, "usage: set NAME VALUE   (e.g. set biceps.max_force 500, set delay.vision 50 ms)\n");
            return 1;
        }
        char value[256] = "";
        size_t len = 0;
        for (int k = 2; k < n; k++) {
            int m = snprintf(value + len, sizeof value - len, "%s%s", w[k], k + 1 < n ? " " : "");
            if (m < 0 || (size_t)m >= sizeof value - len) {
                fprintf(out, "mnet: set: the value is longer than %zu characters\n", sizeof value - 1);
                return 1;
            }
            len += (size_t)m;
        }
        return session_set(s, w[1], value, out);
    }
    if (!strcmp(cmd, "train")) {
        if (n != 2) {
            fprintf(out, "usage: train N   (N batches, 1 to %d)\n", MAX_TRAIN_BATCHES);
            return 1;
        }
        long k = parse_batches(w[1], out);
        if (k == 0)
            return 1;
        int rc = session_train(s, k, &interrupted, out);
        if (rc == 0)
            fprintf(out, "trained %ld batches in all; loss of the last 100: %.6f\n", session_batches(s),
                    session_loss_last100(s));
        return rc;
    }
    if (!strcmp(cmd, "eval")) {
        if (n == 1)
            return session_eval(s, out);
        /* the probes of `mnet eval` (mnet_probe.h); a file only with --out */
        mnet_probe p;
        int rc = probe_parse(&p, n - 1, w + 1, out) != 0 ? 1 : session_probe(s, &p, out);
        probe_free(&p);
        return rc;
    }
    if (!strcmp(cmd, "plot"))
        return mnet_plot_main(n - 1, w + 1) != 0;
    if (!strcmp(cmd, "save") || !strcmp(cmd, "open")) {
        if (n != 2) {
            fprintf(out, "usage: %s FILE\n", cmd);
            return 1;
        }
        if (cmd[0] == 'o')
            return session_open(s, w[1], out, out);
        if (session_save(s, w[1], out) != 0)
            return 1;
        fprintf(out, "saved %s (%ld batches)\n", w[1], session_batches(s));
        return 0;
    }
    if (!strcmp(cmd, "emit")) {
        /* emit FILE.c [--precision float|double] */
        int single = 0, ok = n == 2 || (n == 4 && !strcmp(w[2], "--precision") &&
                                        (!strcmp(w[3], "float") || !strcmp(w[3], "double")));
        if (!ok) {
            fprintf(out, "usage: emit FILE.c [--precision float|double]\n");
            return 1;
        }
        if (n == 4)
            single = w[3][0] == 'f';
        return session_emit(s, w[1], single, out);
    }
    fprintf(out, "mnet: unknown command '%s' (help lists them)\n", cmd);
    return 1;
}

/* Runs one command (a line of any length); returns 0 ok, 1 failed, -1 quit. */
static int run_command(mnet_session *s, const char *line, FILE *out)
{
    char *w[8];
    char *copy = strdup(line);
    if (!copy) {
        fprintf(out, "mnet: out of memory\n");
        return 1;
    }
    int n = split(copy, w, 8);
    int rc = n == 0 ? 0 : run_words(s, w, n, out);
    free(copy);
    return rc;
}

/* After a script's command: a Ctrl-C stops the script.  Returns 1 then. */
static int script_interrupted(void)
{
    if (!interrupted)
        return 0;
    fflush(stdout);
    fprintf(stderr, "mnet: interrupted (Ctrl-C); the rest of the script is not run\n");
    return 1;
}

/* Runs `;`- or newline-separated commands; returns the exit status: 0 when
 * all succeeded, 1 when one failed, EXIT_INTERRUPTED after a Ctrl-C. */
static int run_script(mnet_session *s, const char *text, FILE *out)
{
    char *copy = strdup(text), *save = NULL;
    int failed = 0;
    if (!copy)
        return 1;
    for (char *cmd = strtok_r(copy, ";\n", &save); cmd; cmd = strtok_r(NULL, ";\n", &save)) {
        if (script_interrupted()) {
            failed = EXIT_INTERRUPTED;
            break;
        }
        int rc = run_command(s, cmd, out);
        if (rc < 0)
            break;
        failed |= rc;
    }
    if (failed != EXIT_INTERRUPTED && script_interrupted())
        failed = EXIT_INTERRUPTED;
    free(copy);
    return failed;
}

/* Commands from a pipe, one a line (of any length); the exit status as
 * run_script's. */
static int run_stream(mnet_session *s, FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    int failed = 0;
    while (!script_interrupted() && getline(&line, &cap, in) >= 0) {
        int rc = run_command(s, line, out);
        if (rc < 0)
            break;
        failed |= rc;
    }
    if (script_interrupted())
        failed = EXIT_INTERRUPTED;
    free(line);
    return failed;
}

int mnet_repl_main(const char *script)
{
    mnet_session s;
    session_init(&s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    int status = 0;
    if (script) {
        status = run_script(&s, script, stdout);
    } else if (!isatty(STDIN_FILENO)) {
        status = run_stream(&s, stdin, stdout);
    } else {
        completion_session = &s;
        rl_attempted_completion_function = complete;
        using_history();
        printf("mnet 0.1.0 - type help for commands, quit to leave\n");
        for (;;) {
            interrupted = 0;
            char *line = readline("mnet> ");
            if (!line && interrupted) {
                /* Ctrl-C: drop the line, prompt again (as a shell) */
                putchar('\n');
                continue;
            }
            if (!line) {
                putchar('\n');
                break;
            }
            if (*line)
                add_history(line);
            int rc = run_command(&s, line, stdout);
            free(line);
            if (rc < 0)
                break;
        }
        completion_session = NULL;
    }
    session_close(&s);
    return status;
}
