/* task_check.c - checking and resolving `task` blocks against their schema. */
#include "task_check.h"

#include <math.h>
#include <string.h>

#include "eval.h"
#include "ir.h"

void task_spec_default(task_spec *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->kind, "random_target_reach");
    t->duration = 1.0;
    t->proprioception_delay = t->vision_delay = -1; /* one step */
    t->action_frames = 0; /* MotorNet leaves the last action out by default */
    t->go_cue[0] = 0.05;
    t->go_cue[1] = 0.25;
    t->catch_fraction = 0.5;
    t->validation_distance = 0.1;
    t->validation_every = 15 * M_PI / 180;
    strcpy(t->policy, "gru");
    t->hidden = 128;
    t->layers = 1;
    t->batch = 64;
    t->batches = 2000;
    t->lr = 1e-3;
    t->clip_norm = 1;
    strcpy(t->schedule, "constant");
    t->seed = 1;
}

void task_spec_recipe_loss(task_spec *t)
{
    memset(t->losses, 0, sizeof t->losses);
    strcpy(t->losses[0].name, "position_l1");
    t->losses[0].weight = 1;
    t->n_losses = 1;
}

typedef struct {
    mnet_ctx *ctx;
    eval_env E;
    int errors;
} checker;

static int num(checker *C, const ast_expr *e, const char *what, double *out)
{
    if (!eval_const(&C->E, NULL, e, what, out)) {
        C->errors++;
        return 0;
    }
    return 1;
}

static int whole(checker *C, const ast_expr *e, const char *what, double lo, double hi, int *out)
{
    double v;
    if (!num(C, e, what, &v))
        return 0;
    if (v != floor(v) || v < lo || v > hi) {
        mnet_error(C->ctx, e->loc, "%s must be a whole number from %.15g to %.15g", what, lo, hi);
        C->errors++;
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int name_in(checker *C, const ast_expr *e, const char *what, const char *const *allowed, char *out,
                   size_t n)
{
    if (e->kind == EX_ID || e->kind == EX_CALL)
        for (const char *const *p = allowed; *p; p++)
            if (!strcmp(*p, e->name)) {
                snprintf(out, n, "%s", e->name);
                return 1;
            }
    char list[256] = "";
    for (const char *const *p = allowed; *p; p++) {
        strncat(list, *p, sizeof list - strlen(list) - 1);
        if (p[1])
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    mnet_error(C->ctx, e->loc, "unknown %s (expected %s)", what, list);
    C->errors++;
    return 0;
}

/* Named args of a setting: each must be in `keys`; calls f for each. */
typedef void (*named_fn)(checker *C, const ast_arg *a, task_spec *t);

static void named_args(checker *C, const ast_stmt *s, const char *const *keys, named_fn f, task_spec *t)
{
    if (!s->args) {
        mnet_error(C->ctx, s->loc, "%s expects named values (name = value)", s->head);
        C->errors++;
    }
    for (const ast_arg *a = s->args; a; a = a->next) {
        int ok = a->name && a->value;
        for (const char *const *k = keys; ok && *k; k++)
            if (!strcmp(*k, a->name))
                ok = 2;
        if (ok != 2) {
            char list[256] = "";
            for (const char *const *k = keys; *k; k++) {
                strncat(list, *k, sizeof list - strlen(list) - 1);
                if (k[1])
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            if (a->name)
                mnet_error(C->ctx, a->loc, "%s has no setting '%s' (expected %s)", s->head, a->name, list);
            else
                mnet_error(C->ctx, a->loc, "%s takes named values: %s", s->head, list);
            C->errors++;
            continue;
        }
        f(C, a, t);
    }
}

static void on_delay(checker *C, const ast_arg *a, task_spec *t)
{
    double v;
    if (!num(C, a->value, a->name, &v))
        return;
    if (v < 0) {
        mnet_error(C->ctx, a->value->loc, "a delay cannot be negative");
        C->errors++;
    }
    *(a->name[0] == 'p' ? &t->proprioception_delay : &t->vision_delay) = v;
}

static void on_noise(checker *C, const ast_arg *a, task_spec *t)
{
    double v;
    if (!num(C, a->value, a->name, &v))
        return;
    if (v < 0) {
        mnet_error(C->ctx, a->value->loc, "a noise level is a standard deviation: not negative");
        C->errors++;
    }
    if (!strcmp(a->name, "action"))
        t->noise_action = v;
    else if (!strcmp(a->name, "proprioception"))
        t->noise_proprioception = v;
    else if (!strcmp(a->name, "vision"))
        t->noise_vision = v;
    else if (!strcmp(a->name, "observation"))
        t->noise_observation = v;
    else
        t->noise_hidden = v;
}

static void on_validation(checker *C, const ast_arg *a, task_spec *t)
{
    double v;
    if (num(C, a->value, a->name, &v))
        *(a->name[0] == 'd' ? &t->validation_distance : &t->validation_every) = v;
}

static void on_load(checker *C, const ast_arg *a, task_spec *t)
{
    if (!strcmp(a->name, "curl")) {
        num(C, a->value, "curl", &t->curl);
        return;
    }
    value v = eval_expr(&C->E, NULL, a->value);
    if (v.kind != V_NUM || v.ndim != 1 || v.rows > (a->name[0] == 'e' ? 3 : 16)) {
        if (v.kind != V_ERR)
            mnet_error(C->ctx, a->value->loc, "%s load must be a vector of at most %d", a->name,
                       a->name[0] == 'e' ? 3 : 16);
        C->errors++;
        return;
    }
    double *dst = a->name[0] == 'e' ? t->endpoint_load : t->joint_load;
    for (int k = 0; k < v.rows; k++)
        dst[k] = ir_get(C->E.g, v.v[k])->value;
}

static void on_channel(checker *C, const ast_arg *a, task_spec *t)
{
    num(C, a->value, a->name, a->name[0] == 's' ? &t->channel_stiffness : &t->channel_damping);
}

static void on_train(checker *C, const ast_arg *a, task_spec *t)
{
    const char *k = a->name;
    if (!strcmp(k, "batch"))
        whole(C, a->value, "batch", 1, 1 << 20, &t->batch);
    else if (!strcmp(k, "batches"))
        whole(C, a->value, "batches", 0, 1e9, &t->batches);
    else if (!strcmp(k, "lr"))
        num(C, a->value, "lr", &t->lr);
    else if (!strcmp(k, "clip_norm"))
        num(C, a->value, "clip_norm", &t->clip_norm);
    else if (!strcmp(k, "weight_decay"))
        num(C, a->value, "weight_decay", &t->weight_decay);
    else if (!strcmp(k, "seed"))
        num(C, a->value, "seed", &t->seed);
    else if (!strcmp(k, "optimizer")) {
        static const char *const opts[] = {"adam", NULL};
        char tmp[16];
        name_in(C, a->value, "optimizer", opts, tmp, sizeof tmp);
    } else {
        static const char *const sch[] = {"constant", "step", "cosine", NULL};
        name_in(C, a->value, "schedule", sch, t->schedule, sizeof t->schedule);
    }
}

static const ast_expr *one_value(checker *C, const ast_stmt *s)
{
    if (s->nargs != 1 || s->args->name || s->has_body) {
        mnet_error(C->ctx, s->loc, "%s expects one value", s->head);
        C->errors++;
        return NULL;
    }
    return s->args->value;
}

int task_check(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def, task_spec *out)
{
    task_spec t;
    task_spec_default(&t);
    mnet_arena arena = {0};
    checker C = {.ctx = ctx, .E = {.ctx = ctx, .g = ir_new(), .arena = &arena, .prog = prog}};
    if (!C.E.g)
        return 1;
    const ast_expr *x;
    int named_effector = 0;
    for (const ast_stmt *s = def->stmt->body; s; s = s->next) {
        const char *h = s->head;
        if (s->kind != ST_SETTING || s->has_body) {
            mnet_error(ctx, s->loc, "a task holds settings like 'duration 1 s;'");
            C.errors++;
            continue;
        }
        for (const ast_stmt *p = def->stmt->body; p != s; p = p->next)
            if (p->kind == ST_SETTING && !strcmp(p->head, h) && strcmp(h, "loss") != 0) {
                mnet_error(ctx, s->loc, "'%s' is given twice in task '%s'", h, def->name);
                mnet_note(ctx, p->loc, "first given here");
                C.errors++;
                break;
            }
        if (!strcmp(h, "effector")) {
            named_effector = 1;
            if ((x = one_value(&C, s))) {
                const mnet_def *e = x->kind == EX_ID ? program_find(prog, x->name) : NULL;
                if (!e || e->kind != DEF_EFFECTOR) {
                    mnet_error(ctx, x->loc, "'%s' is not an effector", x->kind == EX_ID ? x->name : "?");
                    C.errors++;
                } else {
                    t.effector = e->name;
                }
            }
        } else if (!strcmp(h, "kind")) {
            static const char *const kinds[] = {"random_target_reach", "centre_out_reach", "delayed_reach", NULL};
            if ((x = one_value(&C, s)))
                name_in(&C, x, "task kind", kinds, t.kind, sizeof t.kind);
        } else if (!strcmp(h, "duration")) {
            if ((x = one_value(&C, s)) && num(&C, x, "duration", &t.duration) && !(t.duration > 0)) {
                mnet_error(ctx, x->loc, "duration must be positive");
                C.errors++;
            }
        } else if (!strcmp(h, "delay")) {
            static const char *const k[] = {"proprioception", "vision", NULL};
            named_args(&C, s, k, on_delay, &t);
        } else if (!strcmp(h, "exact_delays")) {
            if ((x = one_value(&C, s)))
                whole(&C, x, "exact_delays", 0, 1, &t.exact_delays);
        } else if (!strcmp(h, "action_frames")) {
            if ((x = one_value(&C, s)))
                whole(&C, x, "action_frames", 0, 64, &t.action_frames);
        } else if (!strcmp(h, "noise")) {
            static const char *const k[] = {"action", "proprioception", "vision", "observation", "hidden", NULL};
            named_args(&C, s, k, on_noise, &t);
        } else if (!strcmp(h, "go_cue")) {
            value v = (x = one_value(&C, s)) ? eval_expr(&C.E, NULL, x) : value_error();
            if (v.kind != V_NUM || v.ndim != 1 || v.rows != 2) {
                if (x && v.kind != V_ERR)
                    mnet_error(ctx, x->loc, "go_cue is a range [earliest, latest]");
                C.errors++;
            } else {
                t.go_cue[0] = ir_get(C.E.g, v.v[0])->value;
                t.go_cue[1] = ir_get(C.E.g, v.v[1])->value;
                if (!(t.go_cue[0] <= t.go_cue[1]) || t.go_cue[0] < 0) {
                    mnet_error(ctx, x->loc, "go_cue range must satisfy 0 <= earliest <= latest");
                    C.errors++;
                }
            }
        } else if (!strcmp(h, "catch_fraction")) {
            if ((x = one_value(&C, s)) && num(&C, x, "catch_fraction", &t.catch_fraction) &&
                !(t.catch_fraction >= 0 && t.catch_fraction <= 1)) {
                mnet_error(ctx, x->loc, "catch_fraction is a fraction between 0 and 1");
                C.errors++;
            }
        } else if (!strcmp(h, "validation")) {
            static const char *const k[] = {"distance", "every", NULL};
            named_args(&C, s, k, on_validation, &t);
        } else if (!strcmp(h, "load")) {
            static const char *const k[] = {"endpoint", "joint", "curl", NULL};
            named_args(&C, s, k, on_load, &t);
        } else if (!strcmp(h, "force_channel")) {
            static const char *const k[] = {"stiffness", "damping", NULL};
            named_args(&C, s, k, on_channel, &t);
        } else if (!strcmp(h, "loss")) {
            static const char *const kinds[] = {"position_l1", "position_l2", "speed", "jerk", "activation_l2",
                                                "muscle_force", "hidden_l2", NULL};
            if (!(x = one_value(&C, s)))
                continue;
            if (t.n_losses == TASK_MAX_LOSSES) {
                mnet_error(ctx, s->loc, "at most %d loss terms", TASK_MAX_LOSSES);
                C.errors++;
                continue;
            }
            task_loss *l = &t.losses[t.n_losses];
            l->weight = 1;
            l->loc = x->loc;
            const ast_arg *value = NULL;
            for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next)
                if (a->name && !strcmp(a->name, "value"))
                    value = a;
            int builtin = 0;
            for (const char *const *k = kinds; *k; k++)
                builtin |= (x->kind == EX_ID || x->kind == EX_CALL) && !strcmp(*k, x->name);
            if (value && builtin) {
                mnet_error(ctx, x->loc, "'%s' is a built-in loss; give a loss with a value of your own another name",
                           x->name);
                C.errors++;
                continue;
            }
            if (!value && !builtin) {
                mnet_error(ctx, x->loc,
                           "unknown loss (expected position_l1, position_l2, speed, jerk, activation_l2, "
                           "muscle_force, hidden_l2, or one of your own: loss NAME(value = EXPR))");
                C.errors++;
                continue;
            }
            if (value) { /* a term of the user's own */
                for (int i = 0; i < t.n_losses; i++)
                    if (!strcmp(t.losses[i].name, x->name)) {
                        mnet_error(ctx, x->loc, "loss '%s' is defined twice", x->name);
                        mnet_note(ctx, t.losses[i].loc, "first defined here");
                        C.errors++;
                        break;
                    }
                if (strlen(x->name) >= sizeof l->name) {
                    mnet_error(ctx, x->loc, "loss name '%s' is longer than %d characters", x->name,
                               (int)sizeof l->name - 1);
                    C.errors++;
                    continue;
                }
                l->value = value->value;
            }
            snprintf(l->name, sizeof l->name, "%s", x->name);
            for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next) {
                if (a->name && !strcmp(a->name, "weight"))
                    num(&C, a->value, "weight", &l->weight);
                else if (a->name && !strcmp(a->name, "derivative") && !value)
                    num(&C, a->value, "derivative", &l->derivative_weight);
                else if (a->name && !strcmp(a->name, "value"))
                    ;
                else {
                    mnet_error(ctx, a->loc,
                               value ? "a loss of your own takes weight = W and value = EXPR (no derivative)"
                                     : "a loss takes weight = W and derivative = W");
                    C.errors++;
                }
            }
            t.n_losses++;
        } else if (!strcmp(h, "policy")) {
            static const char *const cells[] = {"gru", "rnn", "mlp", NULL};
            if (!(x = one_value(&C, s)) || !name_in(&C, x, "policy", cells, t.policy, sizeof t.policy))
                continue;
            for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next) {
                if (a->name && !strcmp(a->name, "hidden"))
                    whole(&C, a->value, "hidden", 1, 1 << 16, &t.hidden);
                else if (a->name && !strcmp(a->name, "layers"))
                    whole(&C, a->value, "layers", 1, 8, &t.layers);
                else {
                    mnet_error(ctx, a->loc, "a policy takes hidden = N and layers = N");
                    C.errors++;
                }
            }
        } else if (!strcmp(h, "train")) {
            static const char *const k[] = {"batch", "batches", "lr", "clip_norm", "seed", "optimizer",
                                            "schedule", "weight_decay", NULL};
            named_args(&C, s, k, on_train, &t);
        } else {
            mnet_error(ctx, s->loc,
                       "unknown task setting '%s' (effector, kind, duration, delay, exact_delays, "
                       "action_frames, noise, go_cue, catch_fraction, validation, load, force_channel, "
                       "loss, policy, train)",
                       h);
            C.errors++;
        }
    }
    if (!named_effector) {
        mnet_error(ctx, def->loc, "task '%s' names no effector (add 'effector NAME;')", def->name);
        C.errors++;
    }
    if (t.n_losses == 0)
        task_spec_recipe_loss(&t);
    ir_free(C.E.g);
    arena_free(&arena);
    if (out)
        *out = t;
    return C.errors;
}
