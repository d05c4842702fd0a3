/* test_repl_pty.c - the interactive REPL driven through a pseudo-terminal:
 * tab completion, history recall, Ctrl-C during `train` stopping cleanly
 * after the current batch with everything kept, Ctrl-C at the prompt
 * dropping the line (the REPL and its model stay), and Ctrl-C during a
 * `mnet -c` script stopping it with exit status 130. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

static int master = -1;
static pid_t child = -1;
static char buf[1 << 16];
static size_t used;

/* Reads what the REPL prints until `want` appears after offset `from` or
 * the timeout passes.  Returns 1 when found. */
static int expect(const char *want, size_t from, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        buf[used] = '\0';
        if (strstr(buf + from, want))
            return 1;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > timeout_ms)
            return 0;
        struct pollfd p = {master, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = read(master, buf + used, sizeof buf - 1 - used);
            if (n <= 0)
                return strstr(buf + from, want) != NULL;
            /* libedit pads some terminal output with NUL bytes */
            for (ssize_t k = 0; k < n; k++)
                if (buf[used + k] == '\0')
                    buf[used + k] = ' ';
            used += (size_t)n;
        }
    }
}

/* Keys are sent a little after the prompt appears, as a person types:
 * libedit switches the terminal to raw mode when it starts reading a line
 * and may drop what arrived before. */
static void send(const char *s)
{
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    ssize_t n = write(master, s, strlen(s));
    (void)n;
}

/* A key sent at once (Ctrl-C while a command runs). */
static void send_now(const char *s)
{
    ssize_t n = write(master, s, strlen(s));
    (void)n;
}

/* Waits for the child's exit, reading what it prints; its status, or -1
 * (killed) after 20 s. */
static int wait_child(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            expect("\x01never\x01", used, 500); /* what it printed last */
            return status;
        }
        /* keep the pty drained so the child never blocks on output */
        expect("\x01never\x01", used, 50);
        nanosleep(&(struct timespec){0, 10000000}, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20)
            break;
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return -1;
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        c++;
    return c;
}

static void test_interactive(void)
{
    char model[256];
    snprintf(model, sizeof model, "/tmp/mnet_pty_%d.mnet", (int)getpid());
    FILE *f = fopen(model, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("import \"ReluPointMass24.mnet\";\n"
          "task pm { effector ReluPointMass24; duration 300 ms; policy gru(hidden = 8);\n"
          "          train batch = 4, batches = 10; }\n",
          f);
    fclose(f);
    char mnet[1024];
    snprintf(mnet, sizeof mnet, "%s/tools/mnet", MNET_BINARY_DIR);
    child = forkpty(&master, NULL, NULL, NULL);
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        setenv("TERM", "vt100", 1);
        execl(mnet, "mnet", (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_FATAL(expect("mnet> ", 0, 10000));
    size_t mark = used;
    char line[512];
    snprintf(line, sizeof line, "load %s\n", model);
    send(line);
    CU_ASSERT(expect("loaded ", mark, 60000));
    CU_ASSERT(expect("mnet> ", mark, 5000));

    /* tab completion: "sho<TAB>" becomes "show" */
    mark = used;
    send("sho\t\n");
    CU_ASSERT(expect("model ReluPointMass24", mark, 5000));
    CU_ASSERT(expect("mnet> ", mark, 5000));
    /* completion of a parameter name after `set` */
    mark = used;
    send("set UpperLeft.max_f\t 321\n");
    CU_ASSERT(expect("UpperLeft.max_force = 321", mark, 5000));
    CU_ASSERT(expect("mnet> ", mark, 5000));

    /* history: up arrow twice recalls `show` */
    mark = used;
    send("\x1b[A");
    send("\x1b[A");
    send("\r");
    int recalled = expect("model ReluPointMass24", mark, 5000);
    if (!recalled)
        fprintf(stderr, "\n--- REPL output after the history keys ---\n%s\n---\n", buf + mark);
    CU_ASSERT(recalled);
    CU_ASSERT(expect("mnet> ", mark, 5000));

    /* Ctrl-C during train stops after the current batch, keeps the REPL */
    mark = used;
    send("train 1000000\n");
    CU_ASSERT(expect("loss", mark, 30000));
    send("\x03");
    CU_ASSERT(expect("interrupted after", mark, 10000));
    CU_ASSERT(expect("mnet> ", mark + 1, 5000));
    mark = used;
    send("show\n");
    CU_ASSERT(expect("trained ", mark, 5000));
    buf[used] = '\0';
    CU_ASSERT(count(buf + mark, "trained 0 batches") == 0);
    CU_ASSERT(expect("mnet> ", mark, 5000));

    /* Ctrl-C at the prompt drops the half-typed line and prompts again; the
     * REPL and its model stay (it used to exit with status 0) */
    mark = used;
    send("sho");
    send("\x03");
    CU_ASSERT(expect("mnet> ", mark, 5000));
    mark = used;
    send("show\n");
    int kept = expect("model ReluPointMass24", mark, 5000);
    if (!kept)
        fprintf(stderr, "\n--- REPL output after Ctrl-C at the prompt ---\n%s\n---\n", buf + mark);
    CU_ASSERT(kept);
    buf[used] = '\0';
    CU_ASSERT(strstr(buf + mark, "unknown command") == NULL); /* not "shoshow" */
    CU_ASSERT(expect("mnet> ", mark, 5000));

    send("quit\n");
    int status = -1;
    for (int i = 0; i < 100 && waitpid(child, &status, WNOHANG) == 0; i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status))
        kill(child, SIGKILL);
    close(master);
    remove(model);
}

/* Ctrl-C while `mnet -c` runs its script (sent as soon as `help` has
 * printed, so during the `load` after it, or just before it starts): the
 * script stops after the running command with a message and status 130; it
 * used to be swallowed and the script ran on to exit 0. */
static void test_script_interrupted(void)
{
    char model[256];
    snprintf(model, sizeof model, "/tmp/mnet_pty_c_%d.mnet", (int)getpid());
    FILE *f = fopen(model, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("import \"ReluPointMass24.mnet\";\n"
          "task pm { effector ReluPointMass24; duration 300 ms; policy gru(hidden = 8);\n"
          "          train batch = 4, batches = 10; }\n",
          f);
    fclose(f);
    char mnet[1024], script[512];
    snprintf(mnet, sizeof mnet, "%s/tools/mnet", MNET_BINARY_DIR);
    snprintf(script, sizeof script, "help quit; load %s; show; eval; show", model);
    used = 0;
    child = forkpty(&master, NULL, NULL, NULL);
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        setenv("TERM", "vt100", 1);
        execl(mnet, "mnet", "-c", script, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT(expect("leave (also", 0, 10000));
    send_now("\x03"); /* the terminal's Ctrl-C: SIGINT to the foreground group */
    int status = wait_child();
    buf[used] = '\0';
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 130 && strstr(buf, "mnet: interrupted") &&
             !strstr(buf, "eval: ");
    if (!ok)
        fprintf(stderr, "\n--- mnet -c output (status %d) ---\n%s\n---\n", status, buf);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 130);
    CU_ASSERT(strstr(buf, "mnet: interrupted (Ctrl-C)") != NULL);
    CU_ASSERT(strstr(buf, "eval: ") == NULL); /* the script did not run on */
    close(master);
    remove(model);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"REPL through a pseudo-terminal", test_interactive},
        {"Ctrl-C during a -c script", test_script_interrupted},
        {NULL, NULL},
    };
    return mnet_test_main("repl_pty", tests);
}
