/* mnet_plot.h - `mnet plot`: SVG figures of a run for a paper.
 *
 *   mnet plot DIR|episodes.safetensors|log.csv [--out DIR] [--episode K]
 *
 * From DIR/log.csv (the training log, runtime/log.c) and
 * DIR/episodes.safetensors (recorded episodes, runtime/record.c) it writes
 * into --out (default DIR/figures, or figures/ beside the file given):
 *
 *   loss.svg            the loss and each term over batches, log y
 *   paths.svg           the hand paths coloured by time, targets, a curl
 *                       field's direction when the run has load.curl
 *   body.svg            the body at several times of episode K
 *                       (needs body.points)
 *   speed.svg           end-point speed over time
 *   muscles.svg         activation, force, ... per muscle over time
 *   hidden_heatmap.svg  episode K's hidden units over time (viridis); a
 *                       modular network's (names.hidden) grouped by module,
 *                       separated and labelled
 *   hidden_pca.svg      the first three principal components of the
 *                       hidden states: PC1 vs PC2, and each vs time
 *   hidden_pca_modules.svg  a modular network only: each module's own
 *                       PC1 vs PC2
 *   replay.svg          episode K replayed (SMIL animation)
 *
 * A figure whose data the input lacks is skipped with a note.  Everything
 * is read and checked and every figure drawn in memory before anything is
 * written; each figure goes to a temporary file, and the temporaries are
 * renamed only when all were written, so bad input writes nothing and a
 * reader never sees half a figure.  docs/plots.md describes the figures.
 */
#ifndef MNET_PLOT_H
#define MNET_PLOT_H

/* argv: the arguments after "plot".  Prints the files written (stdout) and
 * errors (stderr, "mnet plot: ...").  Exit status: 0 written, 1 bad input
 * or a failed write, 2 usage. */
int mnet_plot_main(int argc, char **argv);

#endif
