/* model_so.c - loading a compiled model's C through the system compiler. */
#include "mnet_model_so.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct mnet_model_so {
    void *handle;
    const mnet_model *model;
    char dir[64];
    char path[128];
};

static int run_cc(const char *cc, const char *src, const char *out, char *log_path, char *err, size_t n)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, n, "cannot start the C compiler (fork failed)");
        return -1;
    }
    if (pid == 0) {
        FILE *log = freopen(log_path, "w", stderr);
        (void)log;
        execlp(cc, cc, "-std=c11", "-O2", "-shared", "-fPIC", "-o", out, src, "-lm", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char first[512] = "";
        FILE *log = fopen(log_path, "r");
        if (log) {
            size_t k = fread(first, 1, sizeof first - 1, log);
            first[k] = '\0';
            fclose(log);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(err, n, "cannot run the C compiler '%s' (set CC, or install gcc)", cc);
        else
            snprintf(err, n, "the C compiler '%s' failed on %s:\n%s", cc, src, first);
        return -1;
    }
    return 0;
}

mnet_model_so *mnet_model_so_build(const char *c_path, char *err, size_t n)
{
    mnet_model_so *so = calloc(1, sizeof *so);
    if (!so) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    const char *tmpdir = getenv("TMPDIR");
    snprintf(so->dir, sizeof so->dir, "%s/mnet-XXXXXX", tmpdir && strlen(tmpdir) < 40 ? tmpdir : "/tmp");
    if (!mkdtemp(so->dir)) {
        snprintf(err, n, "cannot create a temporary directory in %s", so->dir);
        free(so);
        return NULL;
    }
    snprintf(so->path, sizeof so->path, "%s/model.so", so->dir);
    char log_path[128];
    snprintf(log_path, sizeof log_path, "%s/cc.log", so->dir);
    const char *cc = getenv("CC");
    if (!cc || !*cc)
        cc = "cc";
    if (run_cc(cc, c_path, so->path, log_path, err, n) == 0) {
        so->handle = dlopen(so->path, RTLD_NOW | RTLD_LOCAL);
        if (!so->handle)
            snprintf(err, n, "cannot load the compiled model: %s", dlerror());
    }
    remove(log_path);
    if (so->handle) {
        const mnet_model *const *p = dlsym(so->handle, "mnet_compiled_model");
        if (!p || !*p) {
            snprintf(err, n, "%s does not define mnet_compiled_model", c_path);
        } else if ((*p)->abi != MNET_MODEL_ABI) {
            snprintf(err, n, "%s defines a model of ABI %d, this runtime expects %d (emit it again with this mnetc)",
                     c_path, (*p)->abi, MNET_MODEL_ABI);
        } else {
            so->model = *p;
        }
    }
    if (!so->model) {
        mnet_model_so_free(so);
        return NULL;
    }
    return so;
}

const mnet_model *mnet_model_so_get(const mnet_model_so *so)
{
    return so->model;
}

void mnet_model_so_free(mnet_model_so *so)
{
    if (!so)
        return;
    if (so->handle)
        dlclose(so->handle);
    if (so->path[0])
        remove(so->path);
    if (so->dir[0])
        rmdir(so->dir);
    free(so);
}
