import { isRole } from "../auth/roles";
import type { WhoAmI } from "../auth/session";
import { request } from "./client";

export async function whoami(): Promise<WhoAmI> {
  const { data } = await request<{ subject: string; method: string; role: string }>("/api/v1/whoami");
  // A sidecar's identity or a role this build does not know gets no portal.
  if (!isRole(data.role)) throw new Error(`the role "${data.role}" cannot use the portal`);
  return { subject: data.subject, method: data.method, role: data.role };
}
