/* dump.c - the resolved model in words (mnetc --dump-model). */
#include <math.h>

#include "lower_skeleton.h"
#include "model.h"

static const char *geometry_name(geometry_kind k)
{
    return k == GEOM_PATH ? "path" : k == GEOM_POLYNOMIAL ? "polynomial" : "constant moment arms";
}

void effector_dump(const mnet_effector *e, FILE *out)
{
    static const char *const skel[] = {"point_mass", "planar_chain", "user-defined"};
    static const char *const integ[] = {"euler", "rk4 (textbook)", "motornet_rk4 (stage chaining)"};
    fprintf(out, "effector %s\n", e->name);
    fprintf(out, "  skeleton %s: %d dof, %d-D end point, %d bod%s\n", skel[e->skeleton], e->n_dof,
            e->space_dim, e->n_bodies, e->n_bodies == 1 ? "y" : "ies");
    /* a point mass's coordinates are translations (m, m/s); the chains' and
     * user skeletons' joints are rotations (rad, rad/s, shown in deg too) */
    int translational = e->skeleton == SKEL_POINT_MASS;
    for (int j = 0; j < e->n_dof; j++) {
        if (translational)
            fprintf(out, "    joint %-12s range [%.17g, %.17g] m  velocity [%.17g, %.17g] m/s\n", e->joint_names[j],
                    e->pos_lo[j], e->pos_hi[j], e->vel_lo[j], e->vel_hi[j]);
        else
            fprintf(out, "    joint %-12s range [%.17g, %.17g] rad (%.6g..%.6g deg)  velocity [%.17g, %.17g] rad/s\n",
                    e->joint_names[j], e->pos_lo[j], e->pos_hi[j], e->pos_lo[j] * 180 / M_PI,
                    e->pos_hi[j] * 180 / M_PI, e->vel_lo[j], e->vel_hi[j]);
    }
    for (int b = 0; b < e->n_bodies; b++)
        fprintf(out, "    body %d %s\n", b + 1, e->body_names[b]);
    fprintf(out, "  drawing points (points, %d x %d rows):", e->n_points, e->space_dim);
    for (int k = 0; k < e->n_points; k++)
        fprintf(out, "%s %s", k ? "," : "", e->point_names[k]);
    fprintf(out, "\n");
    fprintf(out, "  integrator %s, step %.17g s, %d ministep%s\n", integ[e->integrator], e->step,
            e->n_ministeps, e->n_ministeps == 1 ? "" : "s");
    fprintf(out, "  default loads: endpoint [");
    for (int k = 0; k < e->space_dim; k++)
        fprintf(out, "%s%.17g", k ? ", " : "", e->endpoint_load[k]);
    fprintf(out, "], joint [");
    for (int j = 0; j < e->n_dof; j++)
        fprintf(out, "%s%.17g", j ? ", " : "", e->joint_load[j]);
    fprintf(out, "]\n");
    fprintf(out, "  muscle model %s: %d rows (", e->model.name, e->model.n_rows);
    for (int r = 0; r < e->model.n_rows; r++)
        fprintf(out, "%s%s", r ? ", " : "", e->model.row_names[r]);
    fprintf(out, ")\n");
    for (int m = 0; m < e->n_muscles; m++) {
        const model_muscle *mu = &e->muscles[m];
        fprintf(out, "  muscle %d %s: %s\n", m, mu->name, geometry_name(mu->geometry));
        for (int i = 0; i < e->model.n_params; i++)
            fprintf(out, "    %-16s = %.17g\n", e->model.param_names[i], e->params[mu->param_base + i].value);
        if (mu->geometry == GEOM_PATH)
            for (int k = 0; k < mu->n_points; k++) {
                const path_point *p = &mu->points[k];
                fprintf(out, "    point %d on %s (", k, p->body ? e->body_names[p->body - 1] : "world");
                for (int d = 0; d < e->space_dim; d++)
                    fprintf(out, "%s%.17g", d ? ", " : "", p->coord[d]);
                fprintf(out, ")\n");
            }
        else if (mu->geometry == GEOM_POLYNOMIAL) {
            fprintf(out, "    a0 %.17g\n", mu->a0);
            for (int j = 0; j < e->n_dof; j++)
                fprintf(out, "    joint %d: a1 %.17g a2 %.17g offset %.17g\n", j, mu->a1[j], mu->a2[j],
                        mu->offset[j]);
        } else {
            fprintf(out, "    moment arms [");
            for (int j = 0; j < e->n_dof; j++)
                fprintf(out, "%s%.17g", j ? ", " : "", mu->arms[j]);
            fprintf(out, "]\n");
        }
    }
    fprintf(out, "  parameter table (%d entries, run-time data):\n", e->n_params);
    for (int i = 0; i < e->n_params; i++)
        fprintf(out, "    [%3d] %-32s %.17g\n", i, e->params[i].name, e->params[i].value);
    fprintf(out, "  state: %d rows (joint @%d, cartesian @%d, muscle @%d, geometry @%d); sense %d rows\n",
            e->n_state, e->joint_off, e->cart_off, e->muscle_off, e->geom_off, e->n_sense);
}
