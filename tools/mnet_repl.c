/* mnet_repl.c - the interactive prompt and scripted command runner.
 *
 *   mnet                      interactive (line editing, history, completion)
 *   mnet -c 'load x.mnet; train 100; eval'
 *   echo 'load x.mnet' | mnet  commands from a pipe
 *
 * Commands: load FILE [TASK], show, set NAME VALUE, train N, eval,
 * save FILE, open FILE, emit FILE.c, help [CMD], quit.  An error never leaves the REPL; in
 * scripted use the exit status is 1 when any command failed.
 */
#include "mnet_repl.h"

#include <editline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_session.h"

static volatile sig_atomic_t stop_training;

static void on_sigint(int sig)
{
    (void)sig;
    stop_training = 1;
}

static const struct {
    const char *name, *args, *help;
} commands[] = {
    {"load", "FILE.mnet [TASK]", "compile a model file and its task (diagnostics on errors)"},
    {"show", "", "the model's sizes, muscles, parameters and the task settings"},
    {"set", "NAME VALUE", "change a model parameter (no recompile) or a task setting (e.g. set delay.vision 50 ms)"},
    {"train", "N", "train N batches (Ctrl-C stops after the current batch and keeps everything)"},
    {"eval", "", "run the validation set deterministically and print its loss"},
    {"save", "FILE", "write a checkpoint: sources, network, optimiser, batch count (atomic)"},
    {"open", "FILE", "continue from a checkpoint (needs nothing but the file)"},
    {"emit", "FILE.c", "write the loaded model's standalone C"},
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

/* Runs one command; returns 0 ok, 1 failed, -1 quit. */
static int run_command(mnet_session *s, char *line, FILE *out)
{
    char *w[8];
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", line);
    int n = split(copy, w, 8);
    if (n == 0)
        return 0;
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
        for (int k = 2; k < n; k++) {
            strncat(value, w[k], sizeof value - strlen(value) - 2);
            if (k + 1 < n)
                strcat(value, " ");
        }
        return session_set(s, w[1], value, out);
    }
    if (!strcmp(cmd, "train")) {
        char *end = NULL;
        long k = n == 2 ? strtol(w[1], &end, 10) : -1;
        if (n != 2 || *end || k <= 0) {
            fprintf(out, "usage: train N   (N batches, N > 0)\n");
            return 1;
        }
        stop_training = 0;
        int rc = session_train(s, k, &stop_training, out);
        if (rc == 0)
            fprintf(out, "trained %ld batches in all; loss of the last 100: %.6f\n", s->batches_done,
                    session_loss_last(s, 100));
        return rc;
    }
    if (!strcmp(cmd, "eval"))
        return session_eval(s, out);
    if (!strcmp(cmd, "save") || !strcmp(cmd, "open")) {
        if (n != 2) {
            fprintf(out, "usage: %s FILE\n", cmd);
            return 1;
        }
        if (cmd[0] == 'o')
            return session_open(s, w[1], out, out);
        if (session_save(s, w[1], out) != 0)
            return 1;
        fprintf(out, "saved %s (%ld batches)\n", w[1], s->batches_done);
        return 0;
    }
    if (!strcmp(cmd, "emit")) {
        if (n != 2) {
            fprintf(out, "usage: emit FILE.c\n");
            return 1;
        }
        if (!s->loaded) {
            fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
            return 1;
        }
        if (mnet_write_c(s->run.comp, w[1], s->path, 0) != 0) {
            fprintf(out, "mnet: cannot write '%s'\n", w[1]);
            return 1;
        }
        fprintf(out, "wrote %s (effector %s, double precision)\n", w[1], s->run.model->name);
        return 0;
    }
    fprintf(out, "mnet: unknown command '%s' (help lists them)\n", cmd);
    return 1;
}

/* Runs `;`- or newline-separated commands; returns 0 when all succeeded. */
static int run_script(mnet_session *s, const char *text, FILE *out)
{
    char *copy = strdup(text), *save = NULL;
    int failed = 0;
    if (!copy)
        return 1;
    for (char *cmd = strtok_r(copy, ";\n", &save); cmd; cmd = strtok_r(NULL, ";\n", &save)) {
        int rc = run_command(s, cmd, out);
        if (rc < 0)
            break;
        failed |= rc;
    }
    free(copy);
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
    int failed = 0;
    if (script) {
        failed = run_script(&s, script, stdout);
    } else if (!isatty(STDIN_FILENO)) {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            int rc = run_command(&s, line, stdout);
            if (rc < 0)
                break;
            failed |= rc;
        }
    } else {
        completion_session = &s;
        rl_attempted_completion_function = complete;
        using_history();
        printf("mnet 0.1.0 - type help for commands, quit to leave\n");
        for (;;) {
            stop_training = 0;
            char *line = readline("mnet> ");
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
    return failed ? 1 : 0;
}
