import { ApiError } from "../api/client";

/** 412: the document moved on since the ETag we hold was read (If-Match failed). */
export function isStale(e: unknown): boolean {
  return e instanceof ApiError && e.status === 412;
}

export class StaleError extends Error {
  constructor(loadedVersion: number) {
    super(
      `Changed by someone else since you loaded version ${loadedVersion}: nothing was stored and your text is kept. ` +
        "Load the new live version to see the diff against it, then apply again.",
    );
  }
}

/** Runs a write; a 412 becomes a StaleError saying what happened and what to do. */
export async function guardStale<T>(loadedVersion: number, write: () => Promise<T>, onStale: () => void): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!isStale(e)) throw e;
    onStale();
    throw new StaleError(loadedVersion);
  }
}
