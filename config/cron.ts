/**
 * The schedule dialect of Kubernetes CronJobs, exactly. The API server validates
 * `spec.schedule` with robfig/cron v3's `ParseStandard` and additionally refuses any schedule
 * containing "TZ" (kubernetes pkg/apis/batch/validation, validateScheduleFormat); the CronJob
 * controller computes run times with the same parser. What that accepts:
 *
 * - a descriptor: @yearly @annually @monthly @weekly @daily @midnight @hourly, or `@every <Go
 *   duration>` (e.g. @every 1h30m);
 * - otherwise exactly five whitespace-separated fields: minute (0-59), hour (0-23), day of month
 *   (1-31), month (1-12 or jan-dec), day of week (0-6 or sun-sat; 7 is not Sunday here);
 * - each field a comma-separated list of `*`, `?` (the same as `*`), a number or name, a range
 *   `a-b`, each optionally followed by a step `/n` (n > 0); `a/n` means `a-max/n`.
 *
 * Not accepted (other cron dialects have them): seconds or year fields, `L`, `W`, `#`, `H`,
 * names in minute/hour/day fields, negative numbers, inline TZ=/CRON_TZ=.
 *
 * This is an implementation of that grammar, not a copy; tests pin it to robfig's behaviour.
 */

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: { name: string; bounds: Bounds }[] = [
  { name: "minute", bounds: { min: 0, max: 59 } },
  { name: "hour", bounds: { min: 0, max: 23 } },
  { name: "day of month", bounds: { min: 1, max: 31 } },
  { name: "month", bounds: { min: 1, max: 12, names: Object.fromEntries(MONTH_NAMES.map((n, i) => [n, i + 1])) } },
  { name: "day of week", bounds: { min: 0, max: 6, names: Object.fromEntries(DOW_NAMES.map((n, i) => [n, i])) } },
];

/** A parsed schedule: the allowed values of each field, or a fixed interval. */
export type CronSchedule =
  | { kind: "fields"; minute: Set<number>; hour: Set<number>; dom: Set<number>; month: Set<number>; dow: Set<number>; domStar: boolean; dowStar: boolean }
  | { kind: "every"; seconds: number };

class CronError extends Error {}

/** Go's strconv.Atoi on a decimal: optional sign, digits only, within int64. */
function atoi(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new CronError(`${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new CronError(`${JSON.stringify(text)} is out of range`);
  return n;
}

function intOrName(text: string, b: Bounds): number {
  const named = b.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  const n = atoi(text);
  if (n < 0) throw new CronError(`negative number (${n}) not allowed`);
  return n;
}

function parseField(field: string, name: string, b: Bounds): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  // Go's strings.FieldsFunc drops empty items, so "1,,2" is the list 1,2.
  for (const expr of field.split(",").filter((e) => e !== "")) {
    const rangeAndStep = expr.split("/");
    const lowAndHigh = rangeAndStep[0].split("-");
    let start: number;
    let end: number;
    let exprStar = false;
    if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
      // robfig ignores anything after "*-" or "?-": the range is the whole field.
      start = b.min;
      end = b.max;
      exprStar = true;
    } else {
      start = intOrName(lowAndHigh[0], b);
      if (lowAndHigh.length === 1) end = start;
      else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1], b);
      else throw new CronError(`too many hyphens in ${JSON.stringify(expr)} (${name})`);
    }
    let step = 1;
    if (rangeAndStep.length === 2) {
      step = intOrName(rangeAndStep[1], { min: 0, max: 0 });
      if (lowAndHigh.length === 1) end = b.max;
      if (step > 1) exprStar = false;
    } else if (rangeAndStep.length > 2) {
      throw new CronError(`too many slashes in ${JSON.stringify(expr)} (${name})`);
    }
    if (start < b.min) throw new CronError(`${name} ${start} is below ${b.min}`);
    if (end > b.max) throw new CronError(`${name} ${end} is above ${b.max}`);
    if (start > end) throw new CronError(`${name} range ${JSON.stringify(expr)} starts after it ends`);
    if (step === 0) throw new CronError(`${name} step in ${JSON.stringify(expr)} must be positive`);
    for (let v = start; v <= end; v += step) values.add(v);
    star ||= exprStar;
  }
  return { values, star };
}

/** Go's time.ParseDuration, enough of it for `@every`: a sequence of <decimal><unit>. */
function goDurationSeconds(text: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  if (text === "0") return 0;
  const m = /^([+-]?)((?:[0-9]*\.?[0-9]+(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) throw new CronError(`${JSON.stringify(text)} is not a Go duration such as 1h30m`);
  let total = 0;
  for (const part of m[2].matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * units[part[2]];
  return m[1] === "-" ? -total : total;
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Parses a schedule as Kubernetes does; throws with the reason when Kubernetes would refuse it. */
export function parseKubernetesSchedule(schedule: string): CronSchedule {
  if (schedule.length === 0) throw new CronError("is empty");
  if (schedule.includes("TZ")) throw new CronError("contains TZ: Kubernetes refuses TZ= and CRON_TZ= in a schedule");
  if (schedule.startsWith("@")) {
    const fixed = DESCRIPTORS[schedule];
    if (fixed) return parseKubernetesSchedule(fixed);
    if (schedule.startsWith("@every ")) {
      const seconds = goDurationSeconds(schedule.slice("@every ".length));
      // robfig's Every() rounds down to whole seconds and runs at least every second.
      return { kind: "every", seconds: Math.max(1, Math.floor(seconds)) };
    }
    throw new CronError(`unknown descriptor ${JSON.stringify(schedule.split(/\s/)[0])}`);
  }
  // Go's strings.Fields splits on Unicode white space.
  const fields = schedule.split(/\s+/u).filter((f) => f !== "");
  if (fields.length !== 5) throw new CronError(`has ${fields.length} fields; a Kubernetes schedule has 5 (minute hour day-of-month month day-of-week)`);
  const parsed = fields.map((f, i) => parseField(f, FIELDS[i].name, FIELDS[i].bounds));
  return {
    kind: "fields",
    minute: parsed[0].values,
    hour: parsed[1].values,
    dom: parsed[2].values,
    month: parsed[3].values,
    dow: parsed[4].values,
    domStar: parsed[2].star,
    dowStar: parsed[4].star,
  };
}

/** Undefined when Kubernetes accepts the schedule, else why not. */
export function kubernetesScheduleProblem(schedule: string): string | undefined {
  try {
    parseKubernetesSchedule(schedule);
    return undefined;
  } catch (e) {
    if (e instanceof CronError) return e.message;
    throw e;
  }
}

function dayMatches(s: Extract<CronSchedule, { kind: "fields" }>, day: Date): boolean {
  if (!s.month.has(day.getUTCMonth() + 1)) return false;
  const dom = s.dom.has(day.getUTCDate());
  const dow = s.dow.has(day.getUTCDay());
  // robfig (like Vixie cron): when either day field is a star, both must match; otherwise either.
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

/**
 * The shortest and longest time between two runs (UTC, the controller's zone when a CronJob sets
 * no timeZone), in seconds, over the year 2026 and into 2027 (so yearly schedules have a gap).
 */
export function scheduleGaps(schedule: string): { min: number; max: number } {
  const s = parseKubernetesSchedule(schedule);
  if (s.kind === "every") return { min: s.seconds, max: s.seconds };
  const start = Date.UTC(2026, 0, 1);
  const end = Date.UTC(2028, 0, 1);
  const times = [...s.hour].sort((a, b) => a - b).flatMap((h) => [...s.minute].sort((a, b) => a - b).map((m) => (h * 60 + m) * 60_000));
  let previous: number | undefined;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let day = start; day < end; day += 86_400_000) {
    if (!dayMatches(s, new Date(day))) continue;
    for (const offset of times) {
      const t = day + offset;
      if (previous !== undefined) {
        const gap = (t - previous) / 1000;
        min = Math.min(min, gap);
        max = Math.max(max, gap);
      }
      previous = t;
    }
  }
  if (previous === undefined) throw new CronError("never runs (no date matches it)");
  if (max === 0) throw new CronError("runs only once in two years");
  return { min, max };
}
