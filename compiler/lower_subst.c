/* lower_subst.c - substituting nodes for placeholder leaves. */
#include "lower_subst.h"

#include <stdlib.h>

int subst_begin(ir_subst *s, ir_graph *g, int n_sym, const ir_id *repl)
{
    s->g = g;
    s->n_sym = n_sym;
    s->repl = repl;
    s->memo_n = ir_count(g);
    s->memo = malloc((size_t)(s->memo_n ? s->memo_n : 1) * sizeof(ir_id));
    if (!s->memo)
        return 0;
    for (int i = 0; i < s->memo_n; i++)
        s->memo[i] = -1;
    return 1;
}

void subst_end(ir_subst *s)
{
    free(s->memo);
    s->memo = NULL;
}

/* Iterative post-order walk: graphs are deep (long chains), recursion is not
 * safe. */
ir_id subst_apply(ir_subst *s, ir_id root)
{
    if (root < 0)
        return root;
    if (root >= s->memo_n)
        return root; /* built after the substitution began: no placeholders */
    if (s->memo[root] >= 0)
        return s->memo[root];
    int cap = 64, top = 0;
    ir_id *stack = malloc((size_t)cap * sizeof(ir_id));
    if (!stack)
        return -1;
    stack[top++] = root;
    while (top > 0) {
        ir_id id = stack[top - 1];
        if (s->memo[id] >= 0) {
            top--;
            continue;
        }
        const ir_node *n = ir_get(s->g, id);
        ir_id ops[3] = {n->a, n->b, n->c};
        int pending = 0;
        for (int k = 0; k < 3; k++) {
            if (ops[k] >= 0 && ops[k] < s->memo_n && s->memo[ops[k]] < 0) {
                if (top == cap) {
                    cap *= 2;
                    ir_id *bigger = realloc(stack, (size_t)cap * sizeof(ir_id));
                    if (!bigger) {
                        free(stack);
                        return -1;
                    }
                    stack = bigger;
                }
                stack[top++] = ops[k];
                pending = 1;
            }
        }
        if (pending)
            continue;
        ir_id m[3];
        for (int k = 0; k < 3; k++)
            m[k] = ops[k] < 0 ? -1 : ops[k] < s->memo_n ? s->memo[ops[k]] : ops[k];
        ir_id out;
        switch (n->op) {
        case IR_CONST:
        case IR_PARAM:
            out = id;
            break;
        case IR_VAR:
            out = (n->arg == SYM_ARG && n->row < s->n_sym) ? s->repl[n->row] : id;
            break;
        case IR_CLAMP:
            out = ir_clamp(s->g, m[0], m[1], m[2]);
            break;
        case IR_SELECT:
            out = ir_select(s->g, m[0], m[1], m[2]);
            break;
        default:
            out = n->b >= 0 ? ir_binary(s->g, n->op, m[0], m[1]) : ir_unary(s->g, n->op, m[0]);
        }
        s->memo[id] = out;
        top--;
    }
    free(stack);
    return s->memo[root];
}
