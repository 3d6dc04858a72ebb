// What the vault's check found, in the person's words.
import type { VaultCheck } from "./api";

/** The check's outcome: whether all is well, and one sentence (or two) saying so. */
export function describeCheck(check: VaultCheck): { ok: boolean; text: string } {
  if (check.pages.length > 0) {
    const n = check.pages.length;
    return {
      ok: false,
      text: `The vault's database is damaged: ${n} ${n === 1 ? "page fails" : "pages fail"} its check. Restore it from a bundle you exported.`,
    };
  }
  const log = check.log;
  if (log && log.first_broken !== null) {
    return { ok: false, text: `Entry #${log.first_broken} is broken: the log was changed from there on.` };
  }
  let text = `All ${log?.entries ?? 0} entries intact; every page of the vault authenticates.`;
  const counts = check.counts;
  if (counts?.repaired) {
    const n = counts.differing;
    text += ` ${n} ${n === 1 ? "count" : "counts"} of your data (shown beside containers and in the overview) ${n === 1 ? "was" : "were"} out of date and ${n === 1 ? "has" : "have"} been rebuilt.`;
  }
  return { ok: true, text };
}
