// Reading one configuration value: numbers in a range, booleans, strings; a bad one is a ConfigError.

export class ConfigError extends Error {}

export function num(path: string, v: unknown, min: number, max: number, integer = false): number {
  // Number("") is 0: an empty variable (GRIDQ_PORT=) must be refused, not read as zero.
  const n = typeof v === "string" ? (v.trim() === "" ? Number.NaN : Number(v)) : v;
  if (
    typeof n !== "number" ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !Number.isInteger(n))
  ) {
    throw new ConfigError(
      `config ${path}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

export function bool(path: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (v === "1" || v === "true" || v === "yes") return true;
  if (v === "0" || v === "false" || v === "no" || v === "") return false;
  throw new ConfigError(`config ${path}: expected true or false, got ${JSON.stringify(v)}`);
}

export function str(path: string, v: unknown): string {
  if (typeof v !== "string" || v === "") throw new ConfigError(`config ${path}: expected a non-empty string`);
  return v;
}

/** An optional string: empty or absent is null. */
export function optStr(path: string, v: unknown): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string") throw new ConfigError(`config ${path}: expected a string`);
  return v;
}
