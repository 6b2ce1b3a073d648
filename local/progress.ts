/** A progress bar on stderr: redrawn in place on a terminal, a line per tenth elsewhere (CI logs). */
export const progressBar = (label: string, stream: NodeJS.WriteStream = process.stderr) => {
  const started = performance.now();
  let lastTenth = -1;
  let lastDraw = 0;
  return (done: number, total: number) => {
    const fraction = total === 0 ? 1 : done / total;
    const rate = Math.round(done / ((performance.now() - started) / 1000 || 1));
    if (stream.isTTY) {
      const now = performance.now();
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate}/s${done >= total ? '\n' : ''}`,
      );
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > lastTenth) {
      lastTenth = tenth;
      stream.write(`${label}: ${Math.round(fraction * 100)}% (${done}/${total}, ${rate}/s)\n`);
    }
  };
};
